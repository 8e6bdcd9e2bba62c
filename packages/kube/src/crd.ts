// Installing a CustomResourceDefinition and waiting until the API server serves it.
import type { KubeClient, KubeObject } from './client.ts';
import { Resources } from './resources.ts';

interface CrdStatus extends KubeObject {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/** Server-side applies the CRD, then waits for Established (or fails with NamesAccepted's reason). */
export async function ensureCrd(
  client: KubeClient,
  crd: Record<string, unknown>,
  opts: { fieldManager: string; timeoutMs?: number },
): Promise<void> {
  const applied = await client.apply<CrdStatus>(Resources.CustomResourceDefinition, crd as KubeObject, {
    fieldManager: opts.fieldManager,
  });
  const name = applied.metadata?.name ?? '';
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const current = await client.get<CrdStatus>(Resources.CustomResourceDefinition, { name });
    const conditions = current?.status?.conditions ?? [];
    if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return;
    const names = conditions.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
    if (names) throw new Error(`CRD ${name} was not accepted: ${names.message ?? 'names conflict'}`);
    if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${opts.timeoutMs ?? 30_000} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

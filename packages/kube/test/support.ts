// Shared set-up for the kit's integration tests: the ground's admin client and a fresh
// namespace per test file, created on first use and deleted after the file's tests.
import { after } from 'node:test';
import { ground, requireGround, uniqueName } from '@plinth/ground';
import { KubeClient, Resources } from '@plinth/kube';

export interface TestNamespace {
  readonly client: KubeClient;
  readonly name: string;
}

/** Returns a function resolving to the namespace; call it from tests or hooks. */
export function useNamespace(prefix: string): () => Promise<TestNamespace> {
  let setup: Promise<TestNamespace> | undefined;
  after(async () => {
    if (!setup) return;
    const { client, name } = await setup;
    await client.delete(Resources.Namespace, { name });
  });
  return () => {
    setup ??= (async () => {
      await requireGround('kubernetes');
      const client = KubeClient.load(ground('KUBECONFIG'));
      const name = uniqueName(prefix);
      await client.create(Resources.Namespace, { metadata: { name } });
      return { client, name };
    })();
    return setup;
  };
}

// Plinth installed on the ground as a user installs it: its images built here and pushed to the
// ground's registry, then `plinth up` with Plinth's own part (no Flux parts), the operator and
// the gateway running as pods on the real node under their own ServiceAccounts. Shared by the
// in-pod suite and bench/coldstart-cluster.ts. The admin kubeconfig only installs, like a
// cluster administrator running `plinth up`.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PlinthImage } from '@plinth/api';
import { eventually, ground, plinthOnlyConfig, requireGround } from '@plinth/ground';
import { KubeClient, type KubeObject, Resources } from '@plinth/kube';
import { buildImages, pushedImages, pushImage } from '../../images/build.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const cli = join(ROOT, 'apps', 'cli', 'src', 'main.ts');
const exec = promisify(execFile);

export interface Installed {
  admin: KubeClient;
  /** The gateway Service's in-cluster address (this machine routes to the Service network). */
  gatewayURL(): Promise<string>;
  /** `plinth` with the ground's admin kubeconfig. */
  plinth(...args: string[]): Promise<string>;
  /** plinth down, then waits for Plinth's CRDs to go (a later install creates them again). */
  uninstall(): Promise<void>;
}

/** What a failure needs: the pods of a namespace, their events and their logs. */
export async function podReport(namespace: string): Promise<string> {
  const run = (args: string[]) =>
    exec('kubectl', args, { env: { ...process.env, KUBECONFIG: ground('KUBECONFIG') } }).then(
      (r) => r.stdout,
      (e: Error) => e.message,
    );
  return [
    await run(['get', 'pods', '-o', 'wide', '-n', namespace]),
    await run(['get', 'events', '--sort-by=.lastTimestamp', '-n', namespace]),
    await run(['logs', '-n', namespace, '--all-containers', '--tail=40', '-l', 'app.kubernetes.io/part-of=plinth']),
  ].join('\n');
}

/**
 * Builds and pushes `images` under `tag`, runs `plinth up` with `plinth` settings (e.g.
 * poolSize), and waits for the operator and gateway to be available.
 */
export async function installPlinth(
  images: PlinthImage[],
  tag: string,
  plinthSettings: Record<string, unknown> = {},
): Promise<Installed> {
  await requireGround('kubernetes', 'registry', 'node');
  const admin = KubeClient.load(ground('KUBECONFIG'));
  const registry = ground('REGISTRY');
  const ca = readFileSync(ground('REGISTRY_CA_FILE'), 'utf8');
  for (const b of await buildImages(images, tag)) await pushImage({ host: registry, ca }, b, tag);
  const [key, value] = ground('NODE_LABEL').split('=');
  const config = plinthOnlyConfig(
    {
      images: pushedImages(registry, tag),
      placement: {
        nodeSelector: { [key ?? '']: value ?? '' },
        tolerations: [{ key, operator: 'Exists', effect: 'NoSchedule' }],
      },
    },
    plinthSettings,
  );
  const plinth = async (...args: string[]) => {
    const { stdout, stderr } = await exec(process.execPath, [cli, ...args], {
      env: { ...process.env, KUBECONFIG: ground('KUBECONFIG') },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout + stderr;
  };
  await plinth('up', '-c', config);
  for (const name of ['plinth-operator', 'plinth-gateway']) {
    await eventually(
      `${name} available`,
      async () => {
        const dep = await admin.get<KubeObject & { status?: { availableReplicas?: number } }>(Resources.Deployment, {
          namespace: 'plinth-system',
          name,
        });
        return (dep?.status?.availableReplicas ?? 0) >= 1 && dep;
      },
      180_000,
    ).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await podReport('plinth-system')}`);
    });
  }
  return {
    admin,
    plinth,
    async gatewayURL() {
      const svc = await admin.get<KubeObject & { spec: { clusterIP: string } }>(Resources.Service, {
        namespace: 'plinth-system',
        name: 'plinth-gateway',
      });
      return `http://${svc?.spec.clusterIP}:443`;
    },
    async uninstall() {
      await plinth('down').catch(() => {});
      await eventually(
        'Plinth CRDs deleted',
        async () =>
          (await admin.get(Resources.CustomResourceDefinition, { name: 'functions.plinth.dev' })) ? undefined : true,
        120_000,
      );
    },
  };
}

/**
 * Waits until the namespace's warm pool of `runtime` has an idle pod ready to specialize: a
 * Ready pod that still carries the pool label (the gateway moves a pod out of the pool before
 * it answers the request the pod served).
 */
export async function poolReady(namespace: string, runtime: 'node' | 'python', timeoutMs = 120_000): Promise<void> {
  const admin = KubeClient.load(ground('KUBECONFIG'));
  await eventually(
    `an idle ${runtime} pool pod ready in ${namespace}`,
    async () => {
      const pods = await admin.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        Resources.Pod,
        { namespace, labelSelector: `plinth.dev/pool=${runtime}` },
      );
      return pods.items.some(
        (p) =>
          !p.metadata?.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
    },
    timeoutMs,
    100,
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await podReport(namespace)}`);
  });
}

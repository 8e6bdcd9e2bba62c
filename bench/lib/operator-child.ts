// One arm of `npm run bench -- operator`: the operator of a checkout (this repository, or an
// older commit unpacked elsewhere) in a process of its own, run as its tests run it (in
// process, watching one namespace, the autoscaler idle), started with count-requests.ts
// preloaded so its API requests are counted at the client.
//   node --import ./bench/lib/count-requests.ts bench/lib/operator-child.ts <root> <namespace>
// KUBECONFIG names the API server; PLINTH_* configure the operator (configFromEnv). Talks to
// the bench over IPC: sends {type:'ready', startup} once started (the counts then start from
// zero), answers 'counts' with {type:'counts', counts}, and 'stop' by stopping the operator
// and exiting.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COUNTER, type RequestCounter } from './count-requests.ts';

const [root, namespace] = process.argv.slice(2);
if (!root || !namespace || !process.send) {
  console.error('usage (from bench/operator.ts): operator-child.ts <root> <namespace>, with an IPC channel');
  process.exit(2);
}
const send = (m: unknown) => process.send?.(m);
const counter = (globalThis as Record<symbol, unknown>)[COUNTER] as RequestCounter | undefined;
if (!counter) throw new Error('count-requests.ts is not preloaded (node --import ./bench/lib/count-requests.ts)');

// The checkout's own modules: its operator with its controller kit, from its node_modules.
const kube = (await import(
  pathToFileURL(join(root, 'packages/kube/src/index.ts')).href
)) as typeof import('../../packages/kube/src/index.ts');
const app = (await import(
  pathToFileURL(join(root, 'apps/operator/src/app.ts')).href
)) as typeof import('../../apps/operator/src/app.ts');

const client = kube.KubeClient.load(process.env.KUBECONFIG);
const logger = kube.createLogger('operator', process.env.BENCH_LOG_LEVEL ?? 'warn');
const operator = app.build({
  client,
  config: app.configFromEnv(process.env),
  namespace,
  concurrency: async () => new Map(),
  autoscaleIntervalMs: 3_600_000,
  logger,
});
const t0 = performance.now();
await operator.start();
const startup = { ms: Math.round(performance.now() - t0), counts: counter.snapshot() };
counter.reset();
send({ type: 'ready', startup });

process.on('message', async (m: unknown) => {
  if (m === 'counts') send({ type: 'counts', counts: counter.snapshot() });
  if (m === 'stop') {
    await operator.stop();
    send({ type: 'stopped' });
    process.disconnect?.();
    setTimeout(() => process.exit(0), 1000).unref();
  }
});

// Cold start in the cluster: Plinth installed on the ground (its images, `plinth up`, operator
// and gateway as pods on the real node), then a request through the gateway pod to a Function
// with no pod at all, timed until its answer. Two ways in the same run, N samples each (BENCH_N,
// default 20): `pool` (the namespace's warm pool pod is handed the code) and `deployment` (the
// Function opts out of the pool: its revision Deployment scales from zero and its pod starts).
// Each sample is a Function of its own, routed, whose revision is at zero with no pod left. Last line: p50/p95 per way and the ratio of the p50s.
import { FunctionKind } from '@plinth/api';
import { eventually, uniqueName } from '@plinth/ground';
import { type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { installPlinth, podReport, poolReady } from '../test/e2e-pods/install.ts';
import { percentile, round } from './lib/util.ts';

const N = Number(process.env.BENCH_N ?? 20);
const tag = `bench-${Date.now().toString(36)}`;
const plinth = await installPlinth(['operator', 'gateway', 'runtime-node'], tag, { poolSize: 2 });
const { admin } = plinth;
const ns = uniqueName('coldstart');
const fnType = resourceOf(FunctionKind);
const result: Record<string, { p50Ms: number; p95Ms: number; n: number }> = {};

try {
  await admin.create(Resources.Namespace, { metadata: { name: ns } });
  const ways = ['pool', 'deployment'] as const;
  const name = (way: string, i: number) => `cs-${way}-${i}`;
  for (const way of ways) {
    for (let i = 0; i < N; i++) {
      await admin.create(fnType, {
        apiVersion: FunctionKind.apiVersion,
        kind: FunctionKind.kind,
        metadata: { name: name(way, i), namespace: ns },
        spec: {
          runtime: 'node',
          source: { inline: `export default () => ({ way: '${way}', i: ${i} })` },
          scaling: { pool: way === 'pool', scaleToZeroAfterSeconds: 1 },
        },
      } as KubeObject);
    }
  }
  // Every Function routed to its revision (a new revision starts with a pod, which the
  // autoscaler takes away once idle), then at zero with no pod left.
  process.stderr.write(`# ${2 * N} Functions created in ${ns}; waiting for each to be routed, then at zero\n`);
  await eventually(
    'every Function routed, its revision at zero with no pod',
    async () => {
      const fns = await admin.list<KubeObject & { status?: { traffic?: unknown[] } }>(fnType, { namespace: ns });
      if (fns.items.filter((f) => f.status?.traffic?.length).length < 2 * N) return false;
      const pods = await admin.list(Resources.Pod, { namespace: ns, labelSelector: 'plinth.dev/function' });
      return pods.items.length === 0;
    },
    900_000,
    2_000,
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}\n${await podReport(ns)}`);
  });
  const base = await plinth.gatewayURL();
  for (const way of ways) {
    const samples: number[] = [];
    for (let i = 0; i < N; i++) {
      if (way === 'pool') await poolReady(ns, 'node');
      const t0 = performance.now();
      const res = await fetch(`${base}/fn/${ns}/${name(way, i)}`, { signal: AbortSignal.timeout(120_000) });
      const body = (await res.json()) as { way?: string; i?: number };
      const ms = performance.now() - t0;
      if (res.status !== 200 || body.way !== way || body.i !== i)
        throw new Error(`${name(way, i)}: bad answer ${res.status} ${JSON.stringify(body)}`);
      samples.push(ms);
      // Before the next sample: the pod that served has left the pool (so poolReady counts only
      // idle ones). Not timed.
      if (way === 'pool')
        await eventually(
          `the pool pod that served ${name(way, i)} out of the pool`,
          async () =>
            (
              await admin.list(Resources.Pod, {
                namespace: ns,
                labelSelector: `plinth.dev/pooled=true,plinth.dev/function=${name(way, i)}`,
              })
            ).items.length > 0,
          30_000,
          50,
        );
    }
    process.stderr.write(`# ${way}: ${samples.map((s) => s.toFixed(1)).join(' ')}\n`);
    samples.sort((a, b) => a - b);
    result[way] = { p50Ms: round(percentile(samples, 0.5), 1), p95Ms: round(percentile(samples, 0.95), 1), n: N };
  }
} finally {
  await admin.delete(Resources.Namespace, { name: ns }).catch(() => {});
  await eventually(
    'the bench namespace gone',
    async () => !(await admin.get(Resources.Namespace, { name: ns })),
    300_000,
  ).catch(() => {});
  await plinth.uninstall();
}
console.log(
  JSON.stringify({
    ...result,
    deploymentOverPoolP50: round((result.deployment?.p50Ms ?? 0) / (result.pool?.p50Ms ?? 1), 1),
  }),
);

// Operator convergence at scale: N Functions (default 1,000) created at once in a fresh
// namespace, timed from the first create until every one is Ready, on kwok's simulated nodes
// (needs `test/ground/up`). The operator runs as its tests run it (in process, watching that
// namespace, autoscaler idle, no warm pool), in a child process of its own with
// bench/lib/count-requests.ts preloaded, so its API requests are counted at the client and the
// bench's own (creating the Functions, watching them) are not. Two arms:
//   current  this checkout's operator
//   before   the operator before issue 13's shared informers (commit b6a82df), unpacked under
//            ~/.cache/plinth-bench and installed there with `npm ci` once per lockfile
// The bench adds its own kwok nodes (tainted; the Functions' pods are placed there through
// PLINTH_PLACEMENT), enough for N pods at 110 a node, and removes them at the end. Between
// arms the namespace is deleted and waited for (timed and reported, not counted).
//   npm run bench -- operator [--functions N] [--arm current|before|both] [--rounds R]
//                             [--create-concurrency C] [--timeout S] [--settle S] [--root DIR]
// --root: the current arm's checkout (default this one), e.g. a copy with an experiment in it.
// Last line: {functions, convergeSeconds, requestsPerFunction, ...} of the current arm, the
// before arm's figures and the ratios.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DatabaseKind, FunctionKind, GraphQLApiKind, KafkaTriggerKind, TenantKind } from '@plinth/api';
import { eventually, ground, requireGround, uniqueName } from '@plinth/ground';
import {
  ensureCrd,
  getCondition,
  Informer,
  KubeClient,
  type KubeObject,
  Resources,
  type ResourceType,
  resourceOf,
} from '@plinth/kube';
import { checkoutAt } from './lib/checkout.ts';
import type { RequestCounts } from './lib/count-requests.ts';
import { percentile, ROOT, round } from './lib/util.ts';

/** The last commit before issue 13's change (2722297, "one shared informer factory"). */
const BEFORE_COMMIT = 'b6a82df';
const TARGET_SECONDS = 60;
const PODS_PER_NODE = 110;
const BENCH_LABEL = 'plinth.dev/bench';
const BENCH_NODE_LABEL = 'plinth.dev/bench-node';

const { values: opts } = parseArgs({
  options: {
    functions: { type: 'string', default: '1000' },
    arm: { type: 'string', default: 'both' },
    rounds: { type: 'string', default: '1' },
    'create-concurrency': { type: 'string', default: '16' },
    timeout: { type: 'string', default: '1200' },
    settle: { type: 'string', default: '5' },
    root: { type: 'string', default: ROOT },
    'allow-other-operators': { type: 'boolean', default: false },
  },
});
const N = Number(opts.functions);
const rounds = Number(opts.rounds);
const createConcurrency = Number(opts['create-concurrency']);
const timeoutMs = Number(opts.timeout) * 1000;
const settleMs = Number(opts.settle) * 1000;
if (!(N > 0 && rounds > 0 && createConcurrency > 0 && timeoutMs > 0 && settleMs >= 0)) {
  console.error('--functions, --rounds, --create-concurrency and --timeout take positive numbers');
  process.exit(2);
}
type Arm = 'current' | 'before';
const arms: Arm[] = opts.arm === 'both' ? ['current', 'before'] : [opts.arm as Arm];
if (!arms.every((a) => a === 'current' || a === 'before')) {
  console.error(`--arm must be current, before or both, got "${opts.arm}"`);
  process.exit(2);
}

const say = (line: string) => process.stderr.write(`# ${line}\n`);
const FunctionType = resourceOf(FunctionKind);
const ReplicaSet: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  namespaced: true,
};
type Condition = { type: string; status: string; lastTransitionTime?: string };
type Fn = KubeObject & { status?: { observedGeneration?: number; conditions?: Condition[] } };
type PodLike = KubeObject & { status?: { conditions?: Condition[] } };

await requireGround('kubernetes');
const kubeconfig = ground('KUBECONFIG');
const admin = KubeClient.load(kubeconfig);
const logDir = join(ROOT, '.tmp', 'bench-operator');
mkdirSync(logDir, { recursive: true });

const placement = {
  nodeSelector: { [BENCH_NODE_LABEL]: 'operator' },
  tolerations: [{ key: BENCH_NODE_LABEL, operator: 'Exists' as const, effect: 'NoSchedule' as const }],
};

/** kwok nodes of the bench's own, tainted so only its pods land there; waits until Ready. */
async function addNodes(count: number): Promise<void> {
  const resources = { cpu: '32', memory: '256Gi', pods: String(PODS_PER_NODE) };
  for (let i = 0; i < count; i++) {
    const name = `bench-kwok-node-${i}`;
    await admin.create(Resources.Node, {
      metadata: {
        name,
        // kwok (started with --manage-nodes-with-annotation-selector) manages these, as the ground's.
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          type: 'kwok',
          [BENCH_LABEL]: 'operator',
          [BENCH_NODE_LABEL]: 'operator',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
        },
      },
      spec: { taints: [{ key: BENCH_NODE_LABEL, value: 'operator', effect: 'NoSchedule' }] },
      status: { allocatable: resources, capacity: resources },
    } as KubeObject);
  }
  await eventually(
    `${count} bench kwok nodes Ready`,
    async () => {
      const nodes = await admin.list<PodLike>(Resources.Node, { labelSelector: `${BENCH_LABEL}=operator` });
      return (
        nodes.items.filter((n) => getCondition(n.status?.conditions as never, 'Ready')?.status === 'True').length >=
        count
      );
    },
    120_000,
    500,
  );
}

async function removeNodes(): Promise<void> {
  const nodes = await admin.list(Resources.Node, { labelSelector: `${BENCH_LABEL}=operator` });
  for (const n of nodes.items) await admin.delete(Resources.Node, { name: n.metadata?.name ?? '' });
}

/** Deletes a namespace and waits until it is gone; returns the seconds that took. */
async function deleteNamespace(name: string): Promise<number> {
  const t0 = performance.now();
  await admin.delete(Resources.Namespace, { name });
  await eventually(
    `namespace ${name} gone`,
    async () => !(await admin.get(Resources.Namespace, { name })),
    900_000,
    1000,
  );
  return round((performance.now() - t0) / 1000, 1);
}

/** Namespaces and nodes a run that was killed left behind. */
async function removeLeftovers(): Promise<void> {
  const nss = await admin.list(Resources.Namespace, { labelSelector: `${BENCH_LABEL}=operator` });
  for (const ns of nss.items) {
    say(`deleting namespace ${ns.metadata?.name} left by an earlier run`);
    await deleteNamespace(ns.metadata?.name ?? '');
  }
  await removeNodes();
}

/**
 * A Plinth operator running in the cluster (an installed one, or one an end-to-end test left
 * behind) watches every namespace and would reconcile the bench's Functions too: both arms'
 * figures would be wrong. The bench stops instead (--allow-other-operators to go on).
 */
async function refuseOtherOperators(): Promise<void> {
  const found = (
    await admin.list<KubeObject & { spec?: { replicas?: number } }>(Resources.Deployment, {
      labelSelector: 'app.kubernetes.io/name=plinth-operator',
    })
  ).items.filter((d) => (d.spec?.replicas ?? 1) > 0);
  if (!found.length) return;
  const names = found.map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`).join(', ');
  if (opts['allow-other-operators']) say(`warning: another Plinth operator runs in the cluster (${names})`);
  else
    throw new Error(
      `another Plinth operator runs in the cluster (${names}) and would reconcile the bench's Functions too; remove it (or pass --allow-other-operators)`,
    );
}

function message<T>(child: ChildProcess, type: string, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`the operator process sent no '${type}' in ${ms} ms`)), ms);
    const onMessage = (m: { type?: string }) => {
      if (m?.type === type) done(undefined, m as T);
    };
    const onExit = (code: number | null) => done(new Error(`the operator process exited (${code}) before '${type}'`));
    const done = (e?: Error, m?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(m as T);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

const stats = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return {
    p50: round(percentile(s, 0.5), 1),
    p90: round(percentile(s, 0.9), 1),
    max: round(s.at(-1) ?? Number.NaN, 1),
  };
};

/**
 * When each step of each Function's rollout happened, in seconds from the first create: the
 * API server's timestamps (1 s resolution) of the Function, its Deployment, ReplicaSet and Pod,
 * and when the bench saw the Function Ready. `lags`: the same per Function, step to step, which
 * says who kept it waiting (the operator, kube-controller-manager, the scheduler, kwok).
 */
async function timeline(ns: string, t0Wall: number, readyAt: Map<string, number>) {
  const at = (ts?: string) => (ts ? (Date.parse(ts) - t0Wall) / 1000 : Number.NaN);
  const created = (o: KubeObject) => at(o.metadata?.creationTimestamp as string | undefined);
  const cond = (o: PodLike, type: string) =>
    at(o.status?.conditions?.find((c) => c.type === type && c.status === 'True')?.lastTransitionTime);
  const owner = (o: KubeObject) => o.metadata?.ownerReferences?.[0]?.name ?? '';
  const functions = (await admin.list(FunctionType, { namespace: ns })).items;
  const deployments = (await admin.list(Resources.Deployment, { namespace: ns })).items;
  const replicaSets = (await admin.list(ReplicaSet, { namespace: ns })).items;
  const pods = (await admin.list<PodLike>(Resources.Pod, { namespace: ns })).items;
  // Function -> its Deployment (owner) -> ReplicaSet -> Pod.
  const deploymentOf = new Map(deployments.map((d) => [owner(d), d]));
  const replicaSetOf = new Map(replicaSets.map((r) => [owner(r), r]));
  const podOf = new Map(pods.map((p) => [owner(p), p]));
  const chains = functions.map((f) => {
    const name = f.metadata?.name ?? '';
    const d = deploymentOf.get(name);
    const r = d && replicaSetOf.get(d.metadata?.name ?? '');
    const p = r && podOf.get(r.metadata?.name ?? '');
    const ready = readyAt.get(name);
    return {
      fn: created(f),
      deployment: d ? created(d) : Number.NaN,
      replicaSet: r ? created(r) : Number.NaN,
      pod: p ? created(p) : Number.NaN,
      scheduled: p ? cond(p, 'PodScheduled') : Number.NaN,
      podReady: p ? cond(p, 'Ready') : Number.NaN,
      fnReady: ready === undefined ? Number.NaN : (ready - t0Wall) / 1000,
    };
  });
  const step = (k: keyof (typeof chains)[number]) => stats(chains.map((c) => c[k]));
  const lag = (a: keyof (typeof chains)[number], b: keyof (typeof chains)[number]) =>
    stats(chains.map((c) => c[b] - c[a]));
  return {
    functionCreated: step('fn'),
    deploymentCreated: step('deployment'),
    replicaSetCreated: step('replicaSet'),
    podCreated: step('pod'),
    podScheduled: step('scheduled'),
    podReady: step('podReady'),
    functionReady: step('fnReady'),
    lags: {
      operatorToDeployment: lag('fn', 'deployment'),
      deploymentControllerToReplicaSet: lag('deployment', 'replicaSet'),
      replicaSetControllerToPod: lag('replicaSet', 'pod'),
      schedulerToScheduled: lag('pod', 'scheduled'),
      kwokToReady: lag('scheduled', 'podReady'),
      operatorToFunctionReady: lag('podReady', 'fnReady'),
    },
    objects: { deployments: deployments.length, replicaSets: replicaSets.length, pods: pods.length },
  };
}

/**
 * kube-controller-manager's own figures (its /metrics, with the bench's admin certificate):
 * seconds its clients waited on their client-side rate limiter (--kube-api-qps, default 20 per
 * controller), and how long Deployments and ReplicaSets waited in its work queues. Counters,
 * so an arm's figures are the difference of two reads. BENCH_KCM_URL overrides the address
 * (default: the ground's, https://127.0.0.1:26444); undefined when it cannot be read.
 */
async function kcmMetrics(): Promise<Record<string, number> | undefined> {
  const user = admin.config.getCurrentUser();
  const cluster = admin.config.getCurrentCluster();
  const url = process.env.BENCH_KCM_URL ?? 'https://127.0.0.1:26444';
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpsGet(
        `${url}/metrics`,
        {
          ca: cluster?.caFile ? readFileSync(cluster.caFile) : undefined,
          cert: user?.certFile ? readFileSync(user.certFile) : undefined,
          key: user?.keyFile ? readFileSync(user.keyFile) : undefined,
          timeout: 5000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
    const sum = (re: RegExp) =>
      text
        .split('\n')
        .filter((l) => re.test(l))
        .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
    return {
      rateLimiterWaitSeconds: sum(/^rest_client_rate_limiter_duration_seconds_sum\b/),
      requests: sum(/^rest_client_rate_limiter_duration_seconds_count\b/),
      deploymentQueueSeconds: sum(/^workqueue_queue_duration_seconds_sum\{name="deployment"\}/),
      deploymentQueueItems: sum(/^workqueue_queue_duration_seconds_count\{name="deployment"\}/),
      replicaSetQueueSeconds: sum(/^workqueue_queue_duration_seconds_sum\{name="replicaset"\}/),
      replicaSetQueueItems: sum(/^workqueue_queue_duration_seconds_count\{name="replicaset"\}/),
    };
  } catch (e) {
    say(`kube-controller-manager metrics not read (${(e as Error).message}); set BENCH_KCM_URL`);
    return undefined;
  }
}

function kcmDelta(a?: Record<string, number>, b?: Record<string, number>) {
  if (!a || !b) return undefined;
  const d = (k: string) => (b[k] ?? 0) - (a[k] ?? 0);
  const requests = d('requests');
  return {
    requests,
    rateLimiterWaitSeconds: round(d('rateLimiterWaitSeconds'), 1),
    meanRateLimiterWaitMs: round((1000 * d('rateLimiterWaitSeconds')) / Math.max(1, requests), 1),
    deploymentQueueMeanSeconds: round(d('deploymentQueueSeconds') / Math.max(1, d('deploymentQueueItems')), 2),
    replicaSetQueueMeanSeconds: round(d('replicaSetQueueSeconds') / Math.max(1, d('replicaSetQueueItems')), 2),
  };
}

interface ArmResult {
  arm: Arm;
  round: number;
  functions: number;
  ready: number;
  convergeSeconds: number | null;
  createSeconds: number;
  requests: number;
  requestsPerFunction: number | null;
  watches: number;
  /** Requests in the --settle seconds after convergence (still reconciling, or quiet). */
  settleRequests: number;
  byKey: Record<string, number>;
  /** Mean milliseconds to the response headers, per key and over all requests but watches. */
  meanMs: Record<string, number>;
  meanRequestMs: number;
  byStatus: Record<string, number>;
  errors: number;
  startup: { ms: number; requests: number };
  timeline: Awaited<ReturnType<typeof timeline>>;
  /** kube-controller-manager from the first create until all were Ready. */
  kcm: ReturnType<typeof kcmDelta>;
  namespaceGoneSeconds: number;
}

async function runArm(arm: Arm, root: string, roundNo: number): Promise<ArmResult> {
  const ns = uniqueName(`bench-op-${arm}`);
  await admin.create(Resources.Namespace, { metadata: { name: ns, labels: { [BENCH_LABEL]: 'operator' } } });
  const log = join(logDir, `${arm}-${roundNo}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(
    process.execPath,
    ['--import', join(ROOT, 'bench/lib/count-requests.ts'), join(ROOT, 'bench/lib/operator-child.ts'), root, ns],
    {
      cwd: root,
      stdio: ['ignore', fd, fd, 'ipc'],
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        BENCH_COUNT_ORIGIN: admin.server,
        PLINTH_POOL_SIZE: '0',
        PLINTH_PLACEMENT: JSON.stringify(placement),
        PLINTH_GATEWAY_URL: 'http://gateway.bench',
      },
    },
  );
  activeChild = child;
  const readyAt = new Map<string, number>();
  const informer = new Informer<Fn>({ client: admin, type: FunctionType, namespace: ns });
  let namespaceGoneSeconds = Number.NaN;
  try {
    const { startup } = await message<{ startup: { ms: number; counts: RequestCounts } }>(child, 'ready', 120_000);
    const seen = (f: Fn) => {
      const name = f.metadata?.name ?? '';
      if (readyAt.has(name)) return;
      const ready = getCondition(f.status?.conditions as never, 'Ready');
      if (ready?.status === 'True' && f.status?.observedGeneration === f.metadata?.generation)
        readyAt.set(name, Date.now());
    };
    informer.on('add', seen);
    informer.on('update', seen);
    await informer.start();
    say(
      `${arm} (round ${roundNo}): operator up in ${startup.ms} ms (${startup.counts.total} requests); creating ${N} Functions in ${ns}`,
    );

    const kcm0 = await kcmMetrics();
    const t0Wall = Date.now();
    const t0 = performance.now();
    let next = 0;
    const create = async (i: number) => {
      const fn = {
        apiVersion: FunctionKind.apiVersion,
        kind: FunctionKind.kind,
        metadata: { name: `f-${String(i).padStart(5, '0')}`, namespace: ns },
        spec: {
          runtime: 'node',
          source: { inline: `export default () => ({ i: ${i} })` },
          scaling: { minReplicas: 1, pool: false },
        },
      } as KubeObject;
      for (let attempt = 1; ; attempt++) {
        try {
          await admin.create(FunctionType, fn);
          return;
        } catch (e) {
          if (attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(createConcurrency, N) }, async () => {
        while (next < N) await create(next++);
      }),
    );
    const createSeconds = round((performance.now() - t0) / 1000, 2);
    say(`${arm}: ${N} Functions created in ${createSeconds} s`);

    const progress = setInterval(
      () => say(`${arm}: ${round((performance.now() - t0) / 1000, 0)} s, ${readyAt.size}/${N} Ready`),
      10_000,
    );
    let convergeSeconds: number | null = null;
    try {
      await eventually(`${N} Functions Ready`, () => readyAt.size >= N, timeoutMs, 50);
      convergeSeconds = round((Math.max(...readyAt.values()) - t0Wall) / 1000, 2);
    } catch (e) {
      say(`${arm}: ${(e as Error).message} (${readyAt.size} Ready)`);
    } finally {
      clearInterval(progress);
    }
    const kcm1 = await kcmMetrics();
    child.send('counts');
    const { counts } = await message<{ counts: RequestCounts }>(child, 'counts', 30_000);
    await new Promise((r) => setTimeout(r, settleMs));
    child.send('counts');
    const settled = (await message<{ counts: RequestCounts }>(child, 'counts', 30_000)).counts;
    child.send('stop');
    await message(child, 'stopped', 60_000).catch(() => {});
    const steps = await timeline(ns, t0Wall, readyAt);
    informer.stop();
    say(`${arm}: converged in ${convergeSeconds} s; deleting ${ns}`);
    namespaceGoneSeconds = await deleteNamespace(ns);
    say(`${arm}: namespace gone in ${namespaceGoneSeconds} s (not counted)`);
    return {
      arm,
      round: roundNo,
      functions: N,
      ready: readyAt.size,
      convergeSeconds,
      createSeconds,
      requests: counts.total,
      // Only a run where all converged has a figure per Function.
      requestsPerFunction: convergeSeconds === null ? null : round(counts.total / N, 2),
      watches: counts.watches,
      settleRequests: settled.total - counts.total,
      byKey: Object.fromEntries(Object.entries(counts.byKey).sort((a, b) => b[1] - a[1])),
      meanMs: Object.fromEntries(
        Object.entries(counts.msByKey)
          .filter(([k]) => !k.startsWith('WATCH'))
          .map(([k, ms]) => [k, round(ms / (counts.byKey[k] ?? 1), 1)]),
      ),
      meanRequestMs: round(
        Object.entries(counts.msByKey)
          .filter(([k]) => !k.startsWith('WATCH'))
          .reduce((a, [, ms]) => a + ms, 0) / Math.max(1, counts.total - counts.watches),
        1,
      ),
      byStatus: counts.byStatus,
      errors: counts.errors,
      startup: { ms: startup.ms, requests: startup.counts.total },
      timeline: steps,
      kcm: kcmDelta(kcm0, kcm1),
      namespaceGoneSeconds,
    };
  } finally {
    informer.stop();
    if (child.exitCode === null) child.kill();
    if (Number.isNaN(namespaceGoneSeconds) && (await admin.get(Resources.Namespace, { name: ns })))
      await deleteNamespace(ns).catch((e) => say(`could not delete ${ns}: ${(e as Error).message}`));
  }
}

const mean = (xs: (number | null)[]) =>
  xs.some((x) => x === null) ? null : round(xs.reduce<number>((a, b) => a + (b ?? 0), 0) / xs.length, 2);

const results: ArmResult[] = [];
let interrupted = false;
/** The arm's operator process, stopped with the bench on a signal. */
let activeChild: ChildProcess | undefined;
const cleanup = async () => {
  await removeLeftovers().catch((e) => say(`cleanup: ${(e as Error).message}`));
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    interrupted = true;
    say(`${signal}: cleaning up`);
    if (activeChild?.exitCode === null) activeChild.kill();
    void cleanup().then(() => process.exit(130));
  });

try {
  for (const kind of [FunctionKind, KafkaTriggerKind, DatabaseKind, GraphQLApiKind, TenantKind])
    await ensureCrd(admin, kind.crd(), { fieldManager: 'plinth-test' });
  const roots: Record<Arm, string> = {
    current: opts.root,
    before: arms.includes('before') ? checkoutAt(BEFORE_COMMIT, say) : '',
  };
  await removeLeftovers();
  await refuseOtherOperators();
  const nodes = Math.ceil((N * 1.1) / PODS_PER_NODE);
  say(`adding ${nodes} kwok nodes (${PODS_PER_NODE} pods each)`);
  const tNodes = performance.now();
  await addNodes(nodes);
  say(`nodes Ready in ${round((performance.now() - tNodes) / 1000, 1)} s`);
  for (let r = 0; r < rounds && !interrupted; r++) {
    // Alternate which arm goes first.
    for (const arm of r % 2 ? [...arms].reverse() : arms) {
      const res = await runArm(arm, roots[arm], r + 1);
      results.push(res);
      console.log(JSON.stringify(res));
    }
  }
} finally {
  if (!interrupted) await cleanup();
}

const summary = (arm: Arm) => {
  const rs = results.filter((r) => r.arm === arm);
  if (!rs.length) return undefined;
  return {
    convergeSeconds: mean(rs.map((r) => r.convergeSeconds)),
    requestsPerFunction: mean(rs.map((r) => r.requestsPerFunction)),
    rounds: rs.map((r) => ({ convergeSeconds: r.convergeSeconds, requestsPerFunction: r.requestsPerFunction })),
  };
};
const current = summary('current');
const before = summary('before');
const main = current ?? before;
console.log(
  JSON.stringify({
    functions: N,
    arm: current ? 'current' : 'before',
    convergeSeconds: main?.convergeSeconds ?? null,
    requestsPerFunction: main?.requestsPerFunction ?? null,
    targetSeconds: TARGET_SECONDS,
    underTarget: main?.convergeSeconds != null && main.convergeSeconds < TARGET_SECONDS,
    ...(current && before
      ? {
          before: {
            commit: BEFORE_COMMIT,
            convergeSeconds: before.convergeSeconds,
            requestsPerFunction: before.requestsPerFunction,
          },
          fewerRequests: (current.requestsPerFunction ?? Infinity) < (before.requestsPerFunction ?? 0),
          requestsRatio:
            current.requestsPerFunction && before.requestsPerFunction
              ? round(current.requestsPerFunction / before.requestsPerFunction, 3)
              : null,
          speedup:
            current.convergeSeconds && before.convergeSeconds
              ? round(before.convergeSeconds / current.convergeSeconds, 2)
              : null,
        }
      : {}),
    rounds,
  }),
);

// The Function reconcile: read the Function, converge its revisions, write status.
//   1. The revision template's hash picks an existing revision or names a new one (<fn>-0000N).
//   2. The latest revision's ServiceAccount, source ConfigMap, Deployment and Service are applied.
//   3. spec.traffic is resolved against the revisions that exist.
//   4. Revisions out of traffic are scaled to zero; beyond revisionHistoryLimit they are deleted.
//   5. Status: revisions, traffic, URL and Ready/Progressing/Degraded with observedGeneration.
// Children carry owner references, so deleting the Function deletes them (garbage collector).
import {
  FunctionKind,
  type FunctionObject,
  MANAGED_SELECTOR,
  POOL,
  resolveTraffic,
  revisionName,
  revisionNumber,
  revisionTemplate,
  templateHash,
} from '@plinth/api';
import {
  type Access,
  APPLY,
  applyCached,
  type ConditionInput,
  type Informer,
  type KubeClient,
  type KubeObject,
  READ,
  type ReconcileContext,
  type ReconcileResult,
  Resources,
  type ResourceType,
  recordEvent,
  replicasAccess,
  resourceOf,
  setReplicas,
  TerminalError,
} from '@plinth/kube';
import type { OperatorConfig } from '../config.ts';
import { type RouteOwnership, routeConflictCondition } from '../routes.ts';
import { reporter, statusWriter, withConditions } from '../status.ts';
import { planPools, renderPool, renderPoolAccess, retirePooledPods, unusedPoolRuntimes } from './pool.ts';
import {
  functionURL,
  LABELS,
  renderDeployment,
  renderService,
  renderServiceAccount,
  renderSourceConfigMap,
  TEMPLATE_HASH,
} from './render.ts';

export const FunctionType = resourceOf(FunctionKind);
const MAX_NAME = 50; // <name>-00001-source must stay a 63-character DNS label

interface DeploymentObject extends KubeObject {
  spec?: { replicas?: number };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** Why a revision's pods cannot be created (quota, LimitRange, Pod Security...), as the Deployment says. */
function podFailure(d: DeploymentObject | undefined): string | undefined {
  const c = d?.status?.conditions?.find((x) => x.type === 'ReplicaFailure' && x.status === 'True');
  return c ? (c.message ?? c.reason ?? 'ReplicaFailure') : undefined;
}

/** What the Function reconcile reads (from the shared caches) and writes. */
export const functionAccess: Access[] = [
  { type: FunctionType, verbs: READ },
  { type: FunctionType, subresource: 'status', verbs: ['patch'] },
  { type: FunctionType, subresource: 'finalizers', verbs: ['update'] }, // owner of its children
  ...[Resources.Deployment, Resources.Service, Resources.ConfigMap, Resources.Role, Resources.RoleBinding].map(
    (type) => ({ type, verbs: [...READ, ...APPLY, 'delete'] as const }),
  ),
  { type: Resources.ServiceAccount, verbs: [...READ, ...APPLY] },
  ...replicasAccess,
  // Warm pools: the pool pods it retires, and the namespace Role that lets the gateway read the
  // pooled code (configmaps get) and move the pod it specializes (pods patch), which the
  // operator must hold itself to grant.
  { type: Resources.Pod, verbs: [...READ, 'patch', 'delete'] },
];

/** The shared informer of a type, in the operator's scope (made before the controllers start). */
export type Caches = <T extends KubeObject>(type: ResourceType, labelSelector?: string) => Informer<T>;

export interface FunctionDeps {
  client: KubeClient;
  config: OperatorConfig;
  caches: Caches;
  /** Whether the gateway routes this Function's path and host (RouteConflict when not). */
  routes?: Pick<RouteOwnership, 'hold'>;
  now?: () => Date;
}

type Status = NonNullable<FunctionObject['status']>;

export function functionReconciler(deps: FunctionDeps) {
  const { client, config } = deps;
  const manager = { fieldManager: config.fieldManager };
  const functions = deps.caches<FunctionObject & KubeObject>(FunctionType);
  const deploymentCache = deps.caches<DeploymentObject>(Resources.Deployment, MANAGED_SELECTOR);
  const pooledPods = deps.caches<KubeObject>(Resources.Pod, `${POOL.pooled}=true`);
  // Children carry the managed-by label: their caches hold only Plinth's objects.
  const child = (type: ResourceType) => deps.caches<KubeObject>(type, MANAGED_SELECTOR);
  const roleBindings = child(Resources.RoleBinding);
  /** Applies a child unless the cache shows it already as rendered. */
  const apply = (type: ResourceType, obj: KubeObject) =>
    applyCached(client, type === Resources.Deployment ? deploymentCache : child(type), type, obj, manager);

  // status.route is RouteOwnership.hold's (its own field manager): never stated here.
  const applyStatus = statusWriter<Status>(client, FunctionType, FunctionKind.apiVersion, config.fieldManager, [
    'route',
  ]);
  const writeStatus = (fn: FunctionObject, { route: _, ...status }: Status) => applyStatus(fn, status);
  const conditions = (fn: FunctionObject, list: ConditionInput[]) => withConditions(fn, list, deps.now?.());

  const scale = (ns: string, name: string, replicas: number) => setReplicas(client, ns, name, replicas);

  async function reconcile(ctx: ReconcileContext<FunctionObject>): Promise<ReconcileResult | undefined> {
    const fn = ctx.object;
    if (!fn || fn.metadata.deletionTimestamp) return;
    const name = fn.metadata.name ?? '';
    const ns = fn.metadata.namespace ?? 'default';
    if (name.length > MAX_NAME) {
      throw new TerminalError(
        `metadata.name "${name}" is ${name.length} characters; Function names may have at most ${MAX_NAME}`,
      );
    }
    const spec = FunctionKind.withDefaults(fn.spec);
    // A path or host that another object holds, or that the namespace's Tenant does not grant:
    // the gateway does not route it, so nothing is rolled out until that changes. An accepted
    // claim is recorded in status.route first: from then on it keeps its path and host.
    const refusal = await deps.routes?.hold('Function', fn);
    if (refusal) {
      await writeStatus(fn, {
        ...fn.status,
        observedGeneration: fn.metadata.generation,
        lastError: refusal.message,
        conditions: conditions(fn, [routeConflictCondition(refusal)]),
      });
      return;
    }

    // 1. Which revisions exist, and which one this spec is.
    const deployments = deploymentCache
      .list(ns)
      .filter(
        (d) =>
          d.metadata?.labels?.[LABELS.function] === name &&
          d.metadata?.ownerReferences?.some((o) => o.uid === fn.metadata.uid),
      );
    const byName = new Map(deployments.map((d) => [d.metadata?.name ?? '', d]));
    const template = revisionTemplate(spec);
    const hash = templateHash(template);
    // Revisions only move forward: the newest revision is reused when it has this template;
    // any other template (a new one, or going back to an older one) makes revision newest+1.
    const newest = Math.max(0, ...deployments.map((d) => revisionNumber(name, d.metadata?.name ?? '') ?? 0));
    const newestHash = byName.get(revisionName(name, newest))?.metadata?.annotations?.[TEMPLATE_HASH];
    const latestCreated =
      newest > 0 && newestHash === hash ? revisionName(name, newest) : revisionName(name, newest + 1);
    const isNew = !byName.has(latestCreated);

    // 2. The latest revision's children.
    const input = { fn: { ...fn, spec }, revision: latestCreated, template, hash };
    await apply(Resources.ServiceAccount, renderServiceAccount(fn));
    const source = renderSourceConfigMap(input);
    if (source && isNew) await apply(Resources.ConfigMap, source);
    // The Deployment last: its watch event (which re-runs this reconcile) then most likely
    // finds the ServiceAccount and Service in the cache already, and applies neither again.
    await apply(Resources.Service, renderService(input));
    await apply(Resources.Deployment, renderDeployment(input, config));
    if (isNew) {
      ctx.log.info({ revision: latestCreated, hash }, 'created revision');
      await recordEvent(client, fn as KubeObject, {
        type: 'Normal',
        reason: 'RevisionCreated',
        message: `Created revision ${latestCreated}`,
        component: config.fieldManager,
      });
      byName.set(latestCreated, {
        metadata: { name: latestCreated, annotations: { [TEMPLATE_HASH]: hash } },
        status: {},
      });
    }

    // 3. Readiness and traffic.
    const ready = (rev: string) => (byName.get(rev)?.status?.readyReplicas ?? 0) > 0;
    const sorted = [...byName.keys()].sort((a, b) => (revisionNumber(name, b) ?? 0) - (revisionNumber(name, a) ?? 0));
    const previousReady = fn.status?.latestReadyRevision;
    const latestReady = sorted.find(ready) ?? (previousReady && byName.has(previousReady) ? previousReady : undefined);
    // A revision that has been ready once can serve: at zero replicas the gateway wakes it.
    const everReady = new Set(fn.status?.revisions?.filter((r) => r.ready).map((r) => r.name));
    const wasReady = (rev: string) => ready(rev) || everReady.has(rev);
    let traffic: Status['traffic'];
    try {
      traffic = resolveTraffic(spec, { latestReady, latestCreated, existing: new Set(byName.keys()) });
    } catch (e) {
      throw new TerminalError((e as Error).message); // onError writes it to status
    }
    const serving = new Set(traffic.map((t) => t.revision));
    const servedBefore = new Set(fn.status?.traffic?.map((t) => t.revision));

    // 4. Retired revisions: scaled to zero, and deleted beyond the history limit, once status
    //    has taken them out of traffic (below), so the gateway stops routing to them first.
    const keep = new Set([...serving, latestCreated, ...(latestReady ? [latestReady] : [])]);
    const retired = sorted.filter((r) => !keep.has(r));
    const deleted = retired.slice(spec.revisionHistoryLimit);
    const stopped = retired.slice(0, spec.revisionHistoryLimit);
    for (const rev of serving) {
      const current = byName.get(rev)?.spec?.replicas;
      if (current === undefined) continue;
      // A revision coming back into traffic starts with capacity, as a new one does; after that
      // the autoscaler owns its replica count within [minReplicas, maxReplicas].
      const floor = servedBefore.has(rev) ? spec.scaling.minReplicas : Math.max(1, spec.scaling.minReplicas);
      if (current < floor) await scale(ns, rev, floor);
    }

    // 5. Status.
    const revisions = [...byName.keys()]
      .filter((rev) => !deleted.includes(rev))
      .sort((a, b) => (revisionNumber(name, a) ?? 0) - (revisionNumber(name, b) ?? 0))
      .map((rev) => ({
        name: rev,
        templateHash: byName.get(rev)?.metadata?.annotations?.[TEMPLATE_HASH] ?? '',
        replicas: byName.get(rev)?.status?.replicas ?? 0,
        readyReplicas: byName.get(rev)?.status?.readyReplicas ?? 0,
        ready: wasReady(rev),
      }));
    const inTraffic = revisions.filter((r) => serving.has(r.name));
    const notReady = [...serving].filter((r) => !wasReady(r));
    // Pods the API server refuses (a quota, a LimitRange, Pod Security) never turn up: say why.
    const refused = [...new Set([...serving, latestCreated])].flatMap((r) => {
      const why = podFailure(byName.get(r));
      return why ? [`revision ${r} cannot create pods: ${why}`] : [];
    });
    const refusedCond: ConditionInput | undefined = refused.length
      ? { type: 'Degraded', status: 'True', reason: 'PodCreationFailed', message: refused.join('; ') }
      : undefined;
    const readyCond: ConditionInput = notReady.length
      ? refusedCond && notReady.some((r) => podFailure(byName.get(r)))
        ? { ...refusedCond, type: 'Ready', status: 'False' }
        : {
            type: 'Ready',
            status: 'False',
            reason: 'RevisionNotReady',
            message: `waiting for revision(s) ${notReady.join(', ')} to have a ready replica`,
          }
      : {
          type: 'Ready',
          status: 'True',
          reason: 'RevisionsReady',
          message: `serving ${traffic.map((t) => `${t.revision} ${t.percent}%`).join(', ')}`,
        };
    const progressing: ConditionInput =
      latestReady === latestCreated
        ? {
            type: 'Progressing',
            status: 'False',
            reason: 'RolloutComplete',
            message: `latest revision ${latestCreated} is ready`,
          }
        : {
            type: 'Progressing',
            status: 'True',
            reason: 'RevisionStarting',
            message: `revision ${latestCreated} is starting`,
          };
    await writeStatus(fn, {
      observedGeneration: fn.metadata.generation,
      url: functionURL({ ...fn, spec }, config),
      latestCreatedRevision: latestCreated,
      ...(latestReady ? { latestReadyRevision: latestReady } : {}),
      traffic,
      revisions,
      replicas: inTraffic.reduce((n, r) => n + r.replicas, 0),
      readyReplicas: inTraffic.reduce((n, r) => n + r.readyReplicas, 0),
      conditions: conditions(fn, [
        readyCond,
        progressing,
        refusedCond ?? { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' },
      ]),
    });
    for (const rev of deleted) {
      await client.delete(Resources.Deployment, { namespace: ns, name: rev });
      await client.delete(Resources.Service, { namespace: ns, name: rev });
      await client.delete(Resources.ConfigMap, { namespace: ns, name: `${rev}-source` });
      ctx.log.info({ revision: rev }, 'deleted retired revision');
    }
    for (const rev of stopped) {
      if ((byName.get(rev)?.spec?.replicas ?? 1) !== 0) await scale(ns, rev, 0);
    }

    // 6. The namespace's warm pools, and this Function's pool pods that have done their job.
    await syncPools(ns, { ...fn, status: { ...fn.status, latestCreatedRevision: latestCreated } });
    const pooled = pooledPods.list(ns).filter((p) => p.metadata?.labels?.[LABELS.function] === name);
    const revs = [...byName.keys()];
    const { retire, recheckInMs } = retirePooledPods(
      pooled,
      {
        serving,
        ownReady: new Set(revs.filter(ready)),
        atZero: new Set(revs.filter((r) => byName.get(r)?.spec?.replicas === 0)),
      },
      spec.scaling.scaleToZeroAfterSeconds * 1000,
      Date.now(),
    );
    for (const pod of retire) {
      await client.delete(Resources.Pod, { namespace: ns, name: pod });
      ctx.log.info({ pod }, 'retired a pool pod: its revision has its own pod, left traffic, or it idled out');
    }
    return recheckInMs !== undefined ? { requeueAfterMs: recheckInMs + 100 } : undefined;
  }

  /** Applies the pools the namespace's poolable Functions need and deletes the others. */
  async function syncPools(ns: string, current: FunctionObject): Promise<void> {
    const all = functions.list(ns).map((f) => (f.metadata?.uid === current.metadata.uid ? current : f));
    const plan = config.poolSize > 0 ? planPools(all) : new Map();
    if (plan.size > 0) {
      const entries = [...plan.values()];
      const [role, binding] = renderPoolAccess(
        ns,
        entries.flatMap((e) => e.owners),
        entries.flatMap((e) => e.sources).sort(),
        config,
      );
      await apply(Resources.Role, role as KubeObject);
      await apply(Resources.RoleBinding, binding as KubeObject);
    }
    for (const [runtime, { owners }] of plan) {
      const [deployment, service] = renderPool(ns, runtime, owners, config);
      await apply(Resources.Service, service as KubeObject);
      await apply(Resources.Deployment, deployment as KubeObject);
    }
    for (const runtime of unusedPoolRuntimes(plan)) {
      if (!deploymentCache.get({ namespace: ns, name: POOL.name(runtime) })) continue;
      await client.delete(Resources.Deployment, { namespace: ns, name: POOL.name(runtime) });
      await client.delete(Resources.Service, { namespace: ns, name: POOL.name(runtime) });
    }
    if (plan.size === 0 && roleBindings.get({ namespace: ns, name: POOL.gatewayRole })) {
      await client.delete(Resources.RoleBinding, { namespace: ns, name: POOL.gatewayRole });
      await client.delete(Resources.Role, { namespace: ns, name: POOL.gatewayRole });
    }
  }

  /** Failures go to status (Degraded, lastError; Ready=False when terminal) and to a Warning Event. */
  const { onError } = reporter<FunctionObject, Status>({
    client,
    write: writeStatus,
    component: config.fieldManager,
    retryMs: 10_000,
  });

  return { reconcile, onError };
}

// The warm pool in a cluster: per namespace and pool runtime (node, python), a Deployment of
// generic runtime pods that no function's code is in yet, a Service the gateway finds them by,
// and a namespace Role that lets the gateway read exactly the poolable revisions' code and
// relabel the pod it specializes. A pool serves one namespace only, so a pod never holds two
// tenants' code. The gateway takes an idle pod on a revision's first request from zero, hands
// it the code (POST /_/specialize) and moves it out of the pool into the revision's Service;
// the pool's ReplicaSet replaces it. The Function reconcile retires the specialized pod once the
// revision's own pod is ready, or the revision leaves traffic, or it has served at zero replicas
// for as long as the Function scales to zero after (retirePooledPods).
import {
  FUNCTION_LABELS,
  FunctionKind,
  type FunctionObject,
  MANAGED_BY,
  POOL,
  type PoolRuntime,
  PoolRuntimes,
  placementSpec,
  poolRuntime,
  sourceConfigMapName,
} from '@plinth/api';
import { type KubeObject, ownerReference, restrictedContainer, restrictedPod } from '@plinth/kube';
import type { OperatorConfig } from '../config.ts';
import { PRESTOP_SECONDS } from './render.ts';

const owned = (owners: FunctionObject[]) => owners.map((f) => ownerReference(f as KubeObject, { controller: false }));

/**
 * The pool of one namespace and runtime (Deployment, Service), owned by every Function it
 * serves (none a controller: the garbage collector deletes it with the last one).
 */
export function renderPool(
  namespace: string,
  runtime: PoolRuntime,
  owners: FunctionObject[],
  config: OperatorConfig,
): KubeObject[] {
  const name = POOL.name(runtime);
  const selector = { [POOL.label]: runtime };
  const labels = { ...selector, ...MANAGED_BY };
  const metadata = (n: string) => ({ name: n, namespace, labels, ownerReferences: owned(owners) });
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: metadata(name),
      spec: {
        replicas: config.poolSize,
        revisionHistoryLimit: 0,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: PRESTOP_SECONDS + 70,
            securityContext: restrictedPod,
            ...placementSpec(config.placement),
            containers: [
              {
                name: 'function',
                image: config.runtimeImages[runtime],
                ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
                env: [{ name: 'PLINTH_DRAIN_SECONDS', value: '60' }],
                // Idle, the process is healthy but has no function: the pool's Service lists it
                // by health. Specialized, the same probe keeps it in its revision's Service.
                readinessProbe: { httpGet: { path: '/_/health', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
                livenessProbe: { httpGet: { path: '/_/health', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
                lifecycle: { preStop: { sleep: { seconds: PRESTOP_SECONDS } } },
                // Where the runtime writes the code the gateway hands it.
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                securityContext: restrictedContainer,
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(name),
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    },
  ] as unknown as KubeObject[];
}

/**
 * The namespace's Role for the gateway, and its binding: `get` on exactly the ConfigMaps of the
 * pooled revisions' code (`sources`, every pool runtime's), and `get`/`patch` on pods, to move
 * the pod it specializes. Owned by every poolable Function of the namespace.
 */
export function renderPoolAccess(
  namespace: string,
  owners: FunctionObject[],
  sources: string[],
  config: OperatorConfig,
): KubeObject[] {
  const metadata = { name: POOL.gatewayRole, namespace, labels: { ...MANAGED_BY }, ownerReferences: owned(owners) };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: [
        ...(sources.length
          ? [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: sources }]
          : []),
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: POOL.gatewayRole },
      subjects: [{ kind: 'ServiceAccount', name: config.gatewayServiceAccount, namespace: config.platformNamespace }],
    },
  ] as unknown as KubeObject[];
}

/** What the pools of a namespace should be: per runtime, its owners and readable sources. */
export function planPools(
  functions: FunctionObject[],
): Map<PoolRuntime, { owners: FunctionObject[]; sources: string[] }> {
  const plan = new Map<PoolRuntime, { owners: FunctionObject[]; sources: string[] }>();
  for (const fn of functions) {
    if (fn.metadata.deletionTimestamp || !fn.metadata.uid) continue;
    const spec = FunctionKind.withDefaults(fn.spec);
    const runtime = poolRuntime(spec);
    if (!runtime) continue;
    const entry = plan.get(runtime) ?? { owners: [], sources: [] };
    entry.owners.push(fn);
    // The gateway specializes only the revision the spec describes (status.latestCreatedRevision).
    const revision = fn.status?.latestCreatedRevision;
    const source = revision ? sourceConfigMapName(spec, revision) : undefined;
    if (source && !entry.sources.includes(source)) entry.sources.push(source);
    plan.set(runtime, entry);
  }
  for (const e of plan.values()) e.sources.sort();
  return plan;
}

/** Runtimes without a poolable Function in the namespace: their pool objects go. */
export const unusedPoolRuntimes = (plan: Map<PoolRuntime, unknown>): PoolRuntime[] =>
  PoolRuntimes.filter((r) => !plan.has(r));

/**
 * Specialized pool pods of a Function that have done their job, and when to look again: a pod
 * goes once its revision no longer serves, or has its own ready pod (the autoscaler started it
 * because the traffic stayed), or is at zero replicas and the pod was specialized at least
 * `idleMs` ago (the Function's scaleToZeroAfterSeconds: a pool pod is not kept longer than the
 * revision's own pod would be).
 */
export function retirePooledPods(
  pods: KubeObject[],
  revisions: { serving: ReadonlySet<string>; ownReady: ReadonlySet<string>; atZero: ReadonlySet<string> },
  idleMs: number,
  now: number,
): { retire: string[]; recheckInMs?: number } {
  const retire: string[] = [];
  let recheckInMs: number | undefined;
  for (const p of pods) {
    const name = p.metadata?.name;
    if (!name || p.metadata?.deletionTimestamp) continue;
    const rev = p.metadata?.labels?.[FUNCTION_LABELS.revision] ?? '';
    if (!revisions.serving.has(rev) || revisions.ownReady.has(rev)) {
      retire.push(name);
      continue;
    }
    if (!revisions.atZero.has(rev)) continue; // its own pod is starting: retired once it is ready
    const at = Date.parse(p.metadata?.annotations?.[POOL.specializedAt] ?? '') || 0;
    const left = at + idleMs - now;
    if (left <= 0) retire.push(name);
    else recheckInMs = Math.min(recheckInMs ?? left, left);
  }
  return { retire, ...(recheckInMs !== undefined ? { recheckInMs } : {}) };
}

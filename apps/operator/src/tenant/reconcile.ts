// The Tenant reconcile: each declared namespace is created (and marked as the tenant's own) or
// adopted (when it exists and belongs to no tenant), labelled with the Pod Security level,
// and given the tenant's quota, LimitRange, NetworkPolicies and RoleBindings by server-side
// apply; objects the spec no longer asks for are removed. A namespace that leaves the tenant
// is deleted if the tenant created it and released otherwise (its Plinth objects and labels
// removed). A finalizer does the same for every namespace when the Tenant is deleted.
import { MANAGED_SELECTOR, TenantKind, type TenantObject } from '@plinth/api';
import {
  type Access,
  APPLY,
  applyCached,
  hasFinalizer,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type OwnerReference,
  ownerReference,
  READ,
  type ReconcileContext,
  Resources,
  type ResourceType,
  resourceOf,
  setFinalizer,
} from '@plinth/kube';
import {
  CREATED_ANNOTATION,
  HELM_RELEASE,
  namespaceLabels,
  ROLE_NAMES,
  renderTenantNamespace,
  renderVirtualCluster,
  TENANT_LABEL,
  TENANT_OBJECTS,
} from '@plinth/tenancy';
import type { OperatorConfig } from '../config.ts';
import type { Caches } from '../function/reconcile.ts';
import { grantOverlapCondition, type RouteOwnership } from '../routes.ts';
import { reporter, statusWriter, withConditions } from '../status.ts';

export const TenantType = resourceOf(TenantKind);
const FINALIZER = 'plinth.dev/tenant';
const TYPES: Record<string, ResourceType> = {
  ResourceQuota: Resources.ResourceQuota,
  LimitRange: Resources.LimitRange,
  NetworkPolicy: Resources.NetworkPolicy,
  RoleBinding: Resources.RoleBinding,
};

/** What the Tenant reconcile reads (from the shared caches) and writes. */
export const tenantAccess: Access[] = [
  { type: TenantType, verbs: [...READ, 'update', 'patch'] }, // the finalizer
  { type: TenantType, subresource: 'status', verbs: ['patch'] },
  { type: TenantType, subresource: 'finalizers', verbs: ['update', 'patch'] },
  { type: Resources.Namespace, verbs: [...READ, 'create', 'patch', 'delete'] },
  ...Object.values(TYPES).map((type) => ({ type, verbs: [...READ, ...APPLY, 'delete'] as const })),
  // A Tenant's virtual cluster is a Flux HelmRelease, read when the Tenant asks for none.
  { type: HELM_RELEASE, verbs: ['get', ...APPLY, 'delete'] },
  // Tenants bind the tenant roles without the operator holding what they grant.
  {
    type: Resources.ClusterRole,
    verbs: ['bind'],
    resourceNames: [ROLE_NAMES.tenantAdmin, ROLE_NAMES.developer, ROLE_NAMES.viewer],
  },
];

type Status = NonNullable<TenantObject['status']>;
type NamespaceStatus = NonNullable<Status['namespaces']>[number];

export function tenantReconciler(deps: {
  client: KubeClient;
  config: OperatorConfig;
  /** Which of its route grants an older Tenant holds too (Degraded RouteGrantOverlap). */
  routes?: Pick<RouteOwnership, 'grantOverlap'>;
  caches: Caches;
}) {
  const { client, config } = deps;
  const namespaces = deps.caches<KubeObject & { status?: { phase?: string } }>(Resources.Namespace);
  const managed = MANAGED_SELECTOR;
  const children = Object.fromEntries(Object.entries(TYPES).map(([kind, type]) => [kind, deps.caches(type, managed)]));
  const writeStatus = statusWriter<Status>(client, TenantType, TenantKind.apiVersion, config.fieldManager);
  const renderOptions = { groupsPrefix: config.groupsPrefix, platformNamespace: config.platformNamespace };

  /** Removes the tenant's objects from a namespace, keeping `keep` (kind/name). */
  async function prune(namespace: string, keep: Set<string>): Promise<void> {
    for (const ref of TENANT_OBJECTS) {
      const [kind = '', name = ''] = ref.split('/');
      const type = TYPES[kind];
      if (type && !keep.has(ref) && children[kind]?.get({ namespace, name }))
        await client.delete(type, { namespace, name });
    }
  }

  /** A namespace leaves the tenant: deleted if the tenant made it, else released. */
  async function release(tenant: string, ns: KubeObject): Promise<void> {
    const name = ns.metadata?.name ?? '';
    if (ns.metadata?.annotations?.[CREATED_ANNOTATION] === tenant) {
      await client.delete(Resources.Namespace, { name });
      return;
    }
    await prune(name, new Set());
    const labels = Object.fromEntries(
      Object.keys(ns.metadata?.labels ?? {})
        .filter((k) => k === TENANT_LABEL || k.startsWith('pod-security.kubernetes.io/'))
        .map((k) => [k, null]),
    );
    await client.mergePatch(Resources.Namespace, { name }, { metadata: { labels } });
  }

  /**
   * The tenant's vcluster, a Flux HelmRelease in its first namespace: applied when asked for,
   * removed when not. A problem (no Flux in the cluster) comes back for status.
   */
  async function virtualCluster(
    t: TenantObject,
    owner: OwnerReference[],
  ): Promise<{ reason: string; message: string } | undefined> {
    const namespace = t.spec.namespaces[0] ?? '';
    const wanted = TenantKind.withDefaults(t.spec).virtualCluster?.enabled;
    try {
      if (!wanted) {
        const existing = await client.get(HELM_RELEASE, { namespace, name: 'vcluster' });
        if (existing?.metadata?.labels?.[TENANT_LABEL] === t.metadata.name) {
          await client.delete(HELM_RELEASE, { namespace, name: 'vcluster' });
        }
        return undefined;
      }
      const release = renderVirtualCluster(t);
      release.metadata = { ...release.metadata, ownerReferences: owner };
      await client.apply(HELM_RELEASE, release, { fieldManager: config.fieldManager });
      return undefined;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return wanted
        ? {
            reason: 'VirtualClusterUnavailable',
            message:
              'a virtual cluster needs Flux (helm.toolkit.fluxcd.io/v2 HelmRelease) and the platform vcluster component; neither is installed',
          }
        : undefined;
    }
  }

  async function reconcile(ctx: ReconcileContext<TenantObject>): Promise<void> {
    const t = ctx.object;
    if (!t) return;
    const tenant = t.metadata.name ?? '';
    const mine = async () => namespaces.list().filter((ns) => ns.metadata?.labels?.[TENANT_LABEL] === tenant);
    if (t.metadata.deletionTimestamp) {
      if (!hasFinalizer(t as KubeObject, FINALIZER)) return;
      for (const ns of await mine()) await release(tenant, ns);
      await setFinalizer(client, TenantType, t as KubeObject, FINALIZER, false);
      return;
    }
    if (!hasFinalizer(t as KubeObject, FINALIZER)) {
      await setFinalizer(client, TenantType, t as KubeObject, FINALIZER, true);
      return; // the update brings us back
    }

    const spec = TenantKind.withDefaults(t.spec);
    const owner = [ownerReference(t as KubeObject)];
    const labels = namespaceLabels(t);
    const statuses: NamespaceStatus[] = [];
    for (const name of spec.namespaces) {
      const ns = namespaces.get({ name });
      const holder = ns?.metadata?.labels?.[TENANT_LABEL];
      if (ns && holder && holder !== tenant) {
        statuses.push({ name, phase: 'Conflict', created: false });
        continue;
      }
      let created = ns?.metadata?.annotations?.[CREATED_ANNOTATION] === tenant;
      if (!ns) {
        await client.create(Resources.Namespace, {
          metadata: { name, labels, annotations: { [CREATED_ANNOTATION]: tenant } },
        });
        created = true;
        ctx.log.info({ namespace: name }, 'created namespace');
      } else if (Object.entries(labels).some(([k, v]) => ns.metadata?.labels?.[k] !== v)) {
        await client.mergePatch(Resources.Namespace, { name }, { metadata: { labels } });
      }
      const objects = renderTenantNamespace(t, name, renderOptions);
      for (const obj of objects) {
        obj.metadata = { ...obj.metadata, ownerReferences: owner };
        const type = TYPES[obj.kind ?? ''];
        if (!type) throw new Error(`tenant render made a ${obj.kind}, which the reconcile has no type for`);
        await applyCached(client, children[obj.kind ?? ''] ?? namespaces, type, obj, {
          fieldManager: config.fieldManager,
        });
      }
      await prune(name, new Set(objects.map((o) => `${o.kind}/${o.metadata?.name}`)));
      statuses.push({ name, phase: ns?.status?.phase ?? 'Active', created });
    }
    for (const ns of await mine()) {
      if (!spec.namespaces.includes(ns.metadata?.name ?? '')) await release(tenant, ns);
    }
    const virtual = await virtualCluster(t, owner);

    const conflicts = statuses.filter((s) => s.phase === 'Conflict').map((s) => s.name);
    const problem = conflicts.length
      ? { reason: 'NamespaceConflict', message: `namespace(s) ${conflicts.join(', ')} belong to another tenant` }
      : virtual;
    const message = problem
      ? problem.message
      : `${statuses.length} namespace(s) with quota, network policies and role bindings${spec.virtualCluster?.enabled ? ', and a virtual cluster' : ''}`;
    await writeStatus(t, {
      observedGeneration: t.metadata.generation,
      namespaces: statuses,
      ...(problem ? { lastError: message } : {}),
      conditions: withConditions(t, [
        problem
          ? { type: 'Ready', status: 'False', reason: problem.reason, message }
          : { type: 'Ready', status: 'True', reason: 'Converged', message },
        grantOverlapCondition(deps.routes?.grantOverlap(tenant)),
      ]),
    });
  }

  const { onError } = reporter<TenantObject, Status>({
    client,
    write: writeStatus,
    component: config.fieldManager,
    retryMs: 10_000,
  });
  return { reconcile, onError };
}

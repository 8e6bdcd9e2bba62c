// What a Tenant becomes in each of its namespaces (pure): Pod Security labels on the
// namespace, a ResourceQuota, a LimitRange, default-deny NetworkPolicies with the platform's
// allowances, and RoleBindings of its directory groups to the platform roles.
import { MANAGED_BY, TenantKind, type TenantObject, type TenantSpec } from '@plinth/api';
import type { KubeObject } from '@plinth/kube';
import { ROLE_NAMES } from './roles.ts';

export const TENANT_LABEL = 'plinth.dev/tenant';
/** On a namespace the tenant created (and so deletes when it leaves the tenant). */
export const CREATED_ANNOTATION = 'plinth.dev/created-by-tenant';

export interface TenantRenderOptions {
  /** Prefix the API server puts on directory groups (the OIDC groups prefix), e.g. "oidc:". */
  groupsPrefix: string;
  /** Where the gateway and metrics run; their pods may reach tenant pods. */
  platformNamespace: string;
}

/**
 * The container defaults a tenant's LimitRange gets for cpu or memory when its quota constrains
 * that resource and `limits` says nothing about it. A quota on cpu or memory makes the API server
 * refuse every pod whose containers do not all set that request and limit ("must specify
 * limits.cpu"); with these defaults such pods are admitted (and count against the quota).
 */
export const DEFAULT_CONTAINER_LIMITS = {
  cpu: { limit: '1', request: '100m' },
  memory: { limit: '512Mi', request: '128Mi' },
} as const;

type Limits = NonNullable<TenantSpec['limits']>;
type Quota = TenantSpec['quota'];

/**
 * The LimitRange spec for a tenant's namespaces: what `limits` declares, and for cpu and memory
 * under quota with no default of their own, a default limit and request. Where `limits` gives
 * some of them, the rest follow as Kubernetes itself would fill them in (default limit from
 * max, default request from the default limit), so a resource under quota always gets both.
 */
export function renderLimits(l: Limits | undefined, quota: Quota): { limits: Record<string, unknown>[] } | undefined {
  const def: Record<string, string> = {};
  const request: Record<string, string> = {};
  const max: Record<string, string> = {};
  const given = {
    cpu: { limit: l?.defaultCpu, request: l?.defaultRequestCpu, max: l?.maxCpu },
    memory: { limit: l?.defaultMemory, request: l?.defaultRequestMemory, max: l?.maxMemory },
  };
  for (const r of ['cpu', 'memory'] as const) {
    const g = given[r];
    if (g.max) max[r] = g.max;
    if (quota?.[r]) {
      const limit = g.limit ?? g.max ?? g.request ?? DEFAULT_CONTAINER_LIMITS[r].limit;
      def[r] = limit;
      request[r] = g.request ?? (g.limit || g.max ? limit : DEFAULT_CONTAINER_LIMITS[r].request);
    } else {
      if (g.limit) def[r] = g.limit;
      if (g.request) request[r] = g.request;
    }
  }
  const item: Record<string, unknown> = { type: 'Container' };
  if (Object.keys(def).length) item.default = def;
  if (Object.keys(request).length) item.defaultRequest = request;
  if (Object.keys(max).length) item.max = max;
  return Object.keys(item).length > 1 ? { limits: [item] } : undefined;
}

/** Labels a tenant puts on each of its namespaces. */
export function namespaceLabels(t: TenantObject): Record<string, string> {
  const level = TenantKind.withDefaults(t.spec).podSecurity;
  return {
    [TENANT_LABEL]: t.metadata.name ?? '',
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/warn': level,
    'pod-security.kubernetes.io/audit': level,
  };
}

/** The objects a tenant owns in one namespace, in apply order. */
export function renderTenantNamespace(t: TenantObject, namespace: string, opts: TenantRenderOptions): KubeObject[] {
  const spec = TenantKind.withDefaults(t.spec);
  const tenant = t.metadata.name ?? '';
  const metadata = (name: string) => ({
    name,
    namespace,
    labels: { [TENANT_LABEL]: tenant, ...MANAGED_BY },
  });
  const objects: Record<string, unknown>[] = [];

  const q = spec.quota;
  if (q) {
    const hard: Record<string, string> = {};
    const both = (k: 'cpu' | 'memory', v?: string) => {
      if (v) hard[`requests.${k}`] = hard[`limits.${k}`] = v;
    };
    both('cpu', q.cpu);
    both('memory', q.memory);
    if (q.storage) hard['requests.storage'] = q.storage;
    if (q.gpus) hard['requests.nvidia.com/gpu'] = q.gpus;
    const counts = {
      pods: q.pods,
      services: q.services,
      secrets: q.secrets,
      configmaps: q.configMaps,
      persistentvolumeclaims: q.persistentVolumeClaims,
    };
    for (const [k, v] of Object.entries(counts)) if (v !== undefined) hard[k] = String(v);
    objects.push({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: metadata('plinth-tenant'), spec: { hard } });
  }

  const limitRange = renderLimits(spec.limits, q);
  if (limitRange) {
    objects.push({ apiVersion: 'v1', kind: 'LimitRange', metadata: metadata('plinth-tenant'), spec: limitRange });
  }

  const policy = (name: string, body: Record<string, unknown>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(name),
    spec: { podSelector: {}, ...body },
  });
  const fromTenant = (name: string) => ({ namespaceSelector: { matchLabels: { [TENANT_LABEL]: name } } });
  objects.push(policy('plinth-default-deny', { policyTypes: ['Ingress', 'Egress'] }));
  objects.push(
    policy('plinth-allow-tenant', {
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [fromTenant(tenant)] }],
      egress: [{ to: [fromTenant(tenant)] }],
    }),
  );
  objects.push(
    policy('plinth-allow-dns', {
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
  );
  objects.push(
    policy('plinth-allow-platform', {
      policyTypes: ['Ingress'],
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': opts.platformNamespace } } }] },
      ],
    }),
  );
  if (spec.network.peers.length) {
    objects.push(
      policy('plinth-allow-peers', {
        policyTypes: ['Ingress'],
        ingress: [{ from: spec.network.peers.map(fromTenant) }],
      }),
    );
  }
  if (spec.network.egressCIDRs.length) {
    objects.push(
      policy('plinth-allow-egress', {
        policyTypes: ['Egress'],
        egress: [{ to: spec.network.egressCIDRs.map((cidr) => ({ ipBlock: { cidr } })) }],
      }),
    );
  }

  const bindings = [
    ['plinth-tenant-admins', ROLE_NAMES.tenantAdmin, spec.access.admins],
    ['plinth-developers', ROLE_NAMES.developer, spec.access.developers],
    ['plinth-viewers', ROLE_NAMES.viewer, spec.access.viewers],
  ] as const;
  for (const [name, role, groups] of bindings) {
    if (!groups.length) continue;
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: metadata(name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: groups.map((g) => ({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Group',
        name: `${opts.groupsPrefix}${g}`,
      })),
    });
  }
  return objects as KubeObject[];
}

/**
 * Every object renderTenantNamespace can make, as `Kind/name` (derived by rendering a tenant
 * that asks for everything), so objects a spec no longer asks for can be removed.
 */
export const TENANT_OBJECTS: readonly string[] = renderTenantNamespace(
  {
    metadata: { name: 'all' },
    spec: {
      namespaces: ['all'],
      quota: { cpu: '1' },
      limits: { defaultCpu: '1' },
      network: { peers: ['peer'], egressCIDRs: ['10.0.0.0/8'] },
      access: { admins: ['a'], developers: ['d'], viewers: ['v'] },
    },
  } as TenantObject,
  'all',
  { groupsPrefix: '', platformNamespace: 'platform' },
).map((o) => `${o.kind}/${o.metadata?.name}`);

/** The vcluster chart tenants get (the platform catalog registers this HelmRepository). */
export const VCLUSTER_CHART = { repository: 'https://charts.loft.sh', chart: 'vcluster', version: '0.27.0' } as const;
export const HELM_RELEASE = {
  group: 'helm.toolkit.fluxcd.io',
  version: 'v2',
  kind: 'HelmRelease',
  plural: 'helmreleases',
  namespaced: true,
} as const;

/** A Flux HelmRelease of vcluster in the tenant's first namespace (pure). */
export function renderVirtualCluster(t: TenantObject): KubeObject {
  const namespace = t.spec.namespaces[0] ?? '';
  return {
    apiVersion: `${HELM_RELEASE.group}/${HELM_RELEASE.version}`,
    kind: HELM_RELEASE.kind,
    metadata: {
      name: 'vcluster',
      namespace,
      labels: { [TENANT_LABEL]: t.metadata.name ?? '', ...MANAGED_BY },
    },
    spec: {
      interval: '30m',
      releaseName: 'vcluster',
      chart: {
        spec: {
          chart: VCLUSTER_CHART.chart,
          version: VCLUSTER_CHART.version,
          sourceRef: { kind: 'HelmRepository', name: 'vcluster', namespace: 'flux-system' },
        },
      },
      // The tenant's quota, LimitRange and network policies already govern what the virtual
      // cluster's pods may use; vcluster's own copies would be a second, diverging source.
      values: {
        policies: {
          resourceQuota: { enabled: false },
          limitRange: { enabled: false },
          networkPolicy: { enabled: false },
        },
      },
    },
  } as unknown as KubeObject;
}

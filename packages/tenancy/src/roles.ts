// The platform roles (pure). Four aggregated ClusterRoles people are bound to, filled from
// component ClusterRoles by label, so a new Plinth kind adds its rules with one more component
// (and the built-in view/edit/admin roles pick up Plinth's kinds the same way):
//
//   component             viewer  developer  tenant-admin  platform-admin
//   plinth:view             x         x           x              x
//   plinth:edit                       x           x              x
//   plinth:tenant-rbac                            x              x
//   plinth:platform                                              x
//
// Tenant admins manage Roles and RoleBindings in their namespaces; the API server's escalation
// check still stops them granting more than they hold. Nobody below platform admin may
// change ResourceQuotas, LimitRanges or NetworkPolicies, or anything cluster-scoped.
import { MANAGED_BY, plinthKinds } from '@plinth/api';
import type { KubeObject } from '@plinth/kube';

export const ROLE_NAMES = {
  platformAdmin: 'plinth:platform-admin',
  tenantAdmin: 'plinth:tenant-admin',
  developer: 'plinth:developer',
  viewer: 'plinth:viewer',
} as const;

const AGG = 'rbac.plinth.dev/aggregate-to-';
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const ALL = [...READ, ...WRITE];
/** Plinth's namespaced kinds, as resources. */
export const PLINTH_RESOURCES = plinthKinds.filter((k) => k.namespaced).map((k) => k.plural);

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

const components: { name: string; to: (keyof typeof ROLE_NAMES)[]; builtin?: string[]; rules: Rule[] }[] = [
  {
    name: 'plinth:view',
    to: ['viewer', 'developer', 'tenantAdmin', 'platformAdmin'],
    builtin: ['view', 'edit', 'admin'],
    rules: [
      {
        apiGroups: [''],
        resources: [
          'pods',
          'pods/log',
          'services',
          'endpoints',
          'configmaps',
          'events',
          'persistentvolumeclaims',
          'serviceaccounts',
          'resourcequotas',
          'limitranges',
        ],
        verbs: READ,
      },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: READ },
      { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: READ },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
      {
        apiGroups: ['plinth.dev'],
        resources: [...PLINTH_RESOURCES, ...PLINTH_RESOURCES.map((r) => `${r}/status`)],
        verbs: READ,
      },
    ],
  },
  {
    name: 'plinth:edit',
    to: ['developer', 'tenantAdmin', 'platformAdmin'],
    builtin: ['edit', 'admin'],
    rules: [
      {
        apiGroups: [''],
        resources: ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'serviceaccounts'],
        verbs: ALL,
      },
      { apiGroups: [''], resources: ['pods/exec', 'pods/portforward', 'pods/attach'], verbs: ['get', 'create'] },
      {
        apiGroups: ['apps'],
        resources: ['deployments', 'deployments/scale', 'replicasets', 'statefulsets', 'statefulsets/scale'],
        verbs: ALL,
      },
      { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ALL },
      { apiGroups: ['plinth.dev'], resources: PLINTH_RESOURCES, verbs: ALL },
    ],
  },
  {
    name: 'plinth:tenant-rbac',
    to: ['tenantAdmin', 'platformAdmin'],
    rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ALL }],
  },
  {
    name: 'plinth:platform',
    to: ['platformAdmin'],
    rules: [
      { apiGroups: ['plinth.dev'], resources: ['tenants', 'tenants/status'], verbs: ALL },
      { apiGroups: [''], resources: ['namespaces', 'nodes'], verbs: READ },
      { apiGroups: [''], resources: ['resourcequotas', 'limitranges'], verbs: ALL },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ALL },
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: READ },
    ],
  },
];

const meta = (name: string, labels: Record<string, string>) => ({
  name,
  labels: { ...MANAGED_BY, 'app.kubernetes.io/part-of': 'plinth', ...labels },
});

/** Every platform ClusterRole, aggregated ones last. */
export function platformRoles(): KubeObject[] {
  const roles: Record<string, unknown>[] = components.map((c) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta(
      c.name,
      Object.fromEntries([
        ...c.to.map((r) => [`${AGG}${ROLE_NAMES[r].slice('plinth:'.length)}`, 'true']),
        ...(c.builtin ?? []).map((b) => [`rbac.authorization.k8s.io/aggregate-to-${b}`, 'true']),
      ]),
    ),
    rules: c.rules,
  }));
  for (const name of Object.values(ROLE_NAMES)) {
    roles.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta(name, {}),
      aggregationRule: {
        clusterRoleSelectors: [{ matchLabels: { [`${AGG}${name.slice('plinth:'.length)}`]: 'true' } }],
      },
      rules: [],
    });
  }
  return roles as KubeObject[];
}

/** Binds directory groups (already prefixed) to platform admin, cluster-wide. */
export function platformAdminBinding(groups: string[]): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta('plinth:platform-admins', {}),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE_NAMES.platformAdmin },
    subjects: groups.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name })),
  } as KubeObject;
}

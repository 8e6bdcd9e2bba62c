// Tenant: a team's slice of the cluster. One or more namespaces with quotas and LimitRange
// defaults, a default-deny network with the allowances the platform needs, a Pod Security
// level, and who may do what there, as directory groups bound to the platform roles.
import { type Static, Type } from '@sinclair/typebox';
import { ConditionsSchema, defineKind, type ObjectOf, StringEnum } from '../schema.ts';

/** Path trees no Tenant can be granted: namespaces' default paths and the gateway's own. */
const RESERVED_PREFIXES = ['/fn', '/graphql', '/_'];
const DNS1123 = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const Quantity = (description: string) =>
  Type.String({
    pattern: '^([+]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$',
    maxLength: 32,
    description,
  });
const Count = (description: string) => Type.Integer({ minimum: 0, maximum: 1_000_000, description });
const Groups = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 64, default: [], description });

export const TenantSpecSchema = Type.Object({
  namespaces: Type.Array(Type.String({ pattern: DNS1123, maxLength: 63 }), {
    minItems: 1,
    maxItems: 32,
    description: 'Namespaces of this tenant; created if missing, adopted if they exist and belong to no tenant.',
  }),
  quota: Type.Optional(
    Type.Object(
      {
        cpu: Type.Optional(Quantity('CPU requests and limits, summed over the namespace.')),
        memory: Type.Optional(Quantity('Memory requests and limits, summed over the namespace.')),
        storage: Type.Optional(Quantity('Persistent volume claims, total requested.')),
        gpus: Type.Optional(Quantity('nvidia.com/gpu requests.')),
        pods: Type.Optional(Count('Pods.')),
        services: Type.Optional(Count('Services.')),
        secrets: Type.Optional(Count('Secrets.')),
        configMaps: Type.Optional(Count('ConfigMaps.')),
        persistentVolumeClaims: Type.Optional(Count('PersistentVolumeClaims.')),
      },
      { description: 'A ResourceQuota in each namespace.' },
    ),
  ),
  limits: Type.Optional(
    Type.Object(
      {
        defaultCpu: Type.Optional(Quantity('CPU limit of a container that sets none.')),
        defaultMemory: Type.Optional(Quantity('Memory limit of a container that sets none.')),
        defaultRequestCpu: Type.Optional(Quantity('CPU request of a container that sets none.')),
        defaultRequestMemory: Type.Optional(Quantity('Memory request of a container that sets none.')),
        maxCpu: Type.Optional(Quantity('Largest CPU limit one container may set.')),
        maxMemory: Type.Optional(Quantity('Largest memory limit one container may set.')),
      },
      { description: 'A LimitRange for containers in each namespace.' },
    ),
  ),
  network: Type.Object(
    {
      peers: Type.Array(Type.String({ pattern: DNS1123, maxLength: 253 }), {
        maxItems: 64,
        default: [],
        description: 'Tenants whose pods may connect to this one.',
      }),
      egressCIDRs: Type.Array(Type.String({ pattern: '^[0-9a-fA-F.:]+/[0-9]{1,3}$', maxLength: 64 }), {
        maxItems: 64,
        default: [],
        description: 'Outside networks pods may reach; DNS and the platform are always allowed.',
      }),
    },
    {
      default: {},
      description:
        'Default deny in and out; allowed: within the tenant, DNS, the platform namespace (gateway, metrics), declared peers.',
    },
  ),
  podSecurity: StringEnum(['restricted', 'baseline', 'privileged'] as const, {
    default: 'restricted',
    description: 'Pod Security admission level enforced in every namespace.',
  }),
  virtualCluster: Type.Optional(
    Type.Object(
      {
        enabled: Type.Boolean({ description: 'Run a vcluster in the first namespace (installed through Flux).' }),
      },
      {
        description:
          "A virtual cluster: the tenant gets its own API server inside its first namespace, kubeconfig in Secret vc-vcluster. Needs the platform's vcluster component (Flux).",
      },
    ),
  ),
  routes: Type.Object(
    {
      hosts: Type.Array(
        Type.String({
          pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
          maxLength: 253,
        }),
        {
          maxItems: 64,
          default: [],
          description:
            'Host names its Functions and GraphQL APIs may serve (http.host): an exact name, or *.suffix for any name ending in .suffix (not suffix itself).',
        },
      ),
      pathPrefixes: Type.Array(Type.String({ pattern: '^/[-a-zA-Z0-9_./]*$', maxLength: 253 }), {
        maxItems: 64,
        default: [],
        description:
          'Path prefixes its Functions and GraphQL APIs may serve (http.path), each covering itself and everything below it (/shop covers /shop and /shop/cart). /fn/, /graphql/ and /_/ are not grantable.',
      }),
    },
    {
      default: {},
      description:
        "Where the gateway may route to this tenant besides its namespaces' own default paths (/fn/<namespace>/ and /graphql/<namespace>/, always theirs). A path or host belongs to the tenant with the most specific grant covering it (longest prefix; exact host before *.suffix, longer suffix first; the older tenant when two grant the same): other tenants and namespaces without a tenant cannot claim it. Two claims on one path or host: the one holding it (status.route) keeps it, else the older object; the other is not routed and reports RouteConflict.",
    },
  ),
  access: Type.Object(
    {
      admins: Groups(
        'Directory groups that administer the tenant (everything in its namespaces but quotas and network).',
      ),
      developers: Groups('Directory groups that deploy: workloads, functions, databases, secrets.'),
      viewers: Groups('Directory groups that read (not Secrets).'),
    },
    { default: {} },
  ),
});
export type TenantSpec = Static<typeof TenantSpecSchema>;

export const TenantKind = defineKind({
  group: 'plinth.dev',
  version: 'v1alpha1',
  kind: 'Tenant',
  plural: 'tenants',
  shortNames: ['tn'],
  categories: ['plinth'],
  scope: 'Cluster',
  description:
    'A team: namespaces, quotas, default-deny network, Pod Security, directory groups bound to roles, and the hosts and paths the gateway may route to it.',
  spec: TenantSpecSchema,
  nameRule: {
    maxLength: 63,
    because:
      "the operator labels the tenant's namespaces plinth.dev/tenant=<name> (a label value of at most 63 characters) and peers name tenants",
  },
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer()),
    namespaces: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          phase: Type.String({ description: 'Active, Terminating, or Conflict.' }),
          created: Type.Boolean({ description: 'Created by this tenant (deleted with it), or adopted (released).' }),
        }),
      ),
    ),
    lastError: Type.Optional(Type.String()),
    conditions: Type.Optional(ConditionsSchema),
  }),
  printerColumns: [
    { name: 'Namespaces', type: 'string', jsonPath: '.spec.namespaces' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  ],
  rules: [
    {
      cel: 'self.namespaces.all(n, !(n in ["default", "kube-system", "kube-public", "kube-node-lease"]) && !n.startsWith("plinth-"))',
      check: (s) =>
        s.namespaces.every(
          (n) => !['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(n) && !n.startsWith('plinth-'),
        ),
      field: 'namespaces',
      message: 'a tenant cannot take default, kube-* or plinth-* namespaces',
    },
    {
      cel: '!has(self.routes) || !has(self.routes.pathPrefixes) || self.routes.pathPrefixes.all(p, !(p == "/fn" || p.startsWith("/fn/") || p == "/graphql" || p.startsWith("/graphql/") || p == "/_" || p.startsWith("/_/")))',
      check: (s) =>
        (s.routes?.pathPrefixes ?? []).every((p) => !RESERVED_PREFIXES.some((r) => p === r || p.startsWith(`${r}/`))),
      field: 'routes.pathPrefixes',
      message:
        'routes.pathPrefixes cannot grant /fn/, /graphql/ or /_/: those paths belong to namespaces and to the gateway',
    },
  ],
});
export type TenantObject = ObjectOf<typeof TenantKind>;

// Tenants on the ground's real API server (RBAC, Pod Security admission, the controller
// manager's role aggregation, garbage collection and namespace deletion): two tenants, every
// role, the main verbs and kinds, checked with SubjectAccessReviews and impersonated requests;
// no tenant member can escalate; quotas, network policies and Pod Security match the spec and
// converge on edits and drift; deleting a tenant removes what it created and nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TenantKind } from '@plinth/api';
import { eventually } from '@plinth/ground';
import { isForbidden, type KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { platformRoles } from '@plinth/tenancy';
import { useOperator } from './support.ts';

const TenantType = resourceOf(TenantKind);
const run = Math.random().toString(36).slice(2, 7);
const A = `ta-${run}`;
const B = `tb-${run}`;
const [a1, a2, a3, b1] = [`${A}-1`, `${A}-2`, `${A}-3`, `${B}-1`];
const nsA = [a1, a2];
const nsB = [b1];
const ROLES = ['admin', 'developer', 'viewer'] as const;
type Role = (typeof ROLES)[number];
/** The directory group of a tenant role, and a user in it, as the API server sees them. */
const group = (tenant: string, role: Role) => `${tenant}-${role}s`;
const user = (tenant: string, role: Role) => ({ name: `${tenant}-${role}`, groups: [`oidc:${group(tenant, role)}`] });

// No namespaced kinds here: the Tenant controller watches every namespace, whatever the operator's.
const operator = useOperator('tenant');
let admin: KubeClient;

const tenant = (name: string, namespaces: string[], extra: Record<string, unknown> = {}) => ({
  apiVersion: TenantKind.apiVersion,
  kind: TenantKind.kind,
  metadata: { name },
  spec: {
    namespaces,
    quota: { cpu: '4', memory: '8Gi', pods: 20, secrets: 50 },
    limits: { defaultCpu: '500m', defaultMemory: '256Mi', defaultRequestCpu: '100m', defaultRequestMemory: '128Mi' },
    access: {
      admins: [group(name, 'admin')],
      developers: [group(name, 'developer')],
      viewers: [group(name, 'viewer')],
    },
    ...extra,
  },
});
const getTenant = (name: string) =>
  admin.get<KubeObject & { status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] } }>(
    TenantType,
    { name },
  );
const converged = (name: string) =>
  eventually(
    `Tenant ${name} Ready at its generation`,
    async () => {
      const t = await getTenant(name);
      const ready = t?.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && ready.observedGeneration === t?.metadata?.generation ? t : undefined;
    },
    60_000,
  );

before(async () => {
  await operator.ready;
  admin = operator.client;
  for (const role of platformRoles()) await admin.apply(Resources.ClusterRole, role, { fieldManager: 'plinth-test' });
  await eventually(
    'the controller manager aggregates plinth:developer',
    async () =>
      ((await admin.get<KubeObject & { rules?: unknown[] }>(Resources.ClusterRole, { name: 'plinth:developer' }))?.rules
        ?.length ?? 0) > 0,
    30_000,
  );
  // B's namespace exists before its tenant does: it is adopted, and released again later.
  await admin.create(Resources.Namespace, { metadata: { name: b1 } });
  await admin.create(TenantType, tenant(A, nsA) as KubeObject);
  await admin.create(TenantType, tenant(B, nsB, { network: { peers: [A] } }) as KubeObject);
  await converged(A);
  await converged(B);
});

// After the operator has stopped (useOperator's after runs first).
after(async () => {
  for (const name of [A, B]) {
    const left = await admin?.get(TenantType, { name });
    if (left) await admin.mergePatch(TenantType, { name }, { metadata: { finalizers: null } });
    await admin?.delete(TenantType, { name });
  }
  for (const ns of [...nsA, ...nsB, a3]) await admin?.delete(Resources.Namespace, { name: ns });
});

describe('Tenant', () => {
  it('gives each role exactly its permissions in its own tenant and none in another (SubjectAccessReview)', async () => {
    const W = 'get list create delete';
    const R = 'get list';
    // What each role may do in its own tenant's namespaces. Anywhere else: nothing.
    const own: Record<Role, Record<string, string>> = {
      viewer: { pods: R, secrets: '', functions: R, databases: R, roles: '', resourcequotas: R, networkpolicies: R },
      developer: { pods: W, secrets: W, functions: W, databases: W, roles: '', resourcequotas: R, networkpolicies: R },
      admin: { pods: W, secrets: W, functions: W, databases: W, roles: W, resourcequotas: R, networkpolicies: R },
    };
    const groups: Record<string, string> = {
      pods: '',
      secrets: '',
      functions: 'plinth.dev',
      databases: 'plinth.dev',
      roles: 'rbac.authorization.k8s.io',
      resourcequotas: '',
      networkpolicies: 'networking.k8s.io',
    };
    const expected: string[] = [];
    const actual: string[] = [];
    let crossTenant = 0;
    for (const [t, tenantNs] of [
      [A, nsA],
      [B, nsB],
    ] as const) {
      for (const role of ROLES) {
        const u = user(t, role);
        for (const ns of [...nsA, ...nsB]) {
          const mine = (tenantNs as readonly string[]).includes(ns);
          for (const [resource, apiGroup] of Object.entries(groups)) {
            const allowed: string[] = [];
            for (const verb of ['get', 'list', 'create', 'delete', 'update']) {
              const review = await admin.create<KubeObject & { status?: { allowed?: boolean } }>(
                Resources.SubjectAccessReview,
                {
                  apiVersion: 'authorization.k8s.io/v1',
                  kind: 'SubjectAccessReview',
                  spec: {
                    user: u.name,
                    groups: u.groups,
                    resourceAttributes: { namespace: ns, verb, group: apiGroup, resource },
                  },
                } as KubeObject,
              );
              if (review.status?.allowed) allowed.push(verb);
            }
            if (!mine && allowed.length) crossTenant++;
            const want = mine ? (own[role][resource] ?? '') : '';
            const wantVerbs = want ? [...want.split(' '), ...(want === W ? ['update'] : [])] : [];
            expected.push(`${u.name} ${ns} ${resource}: ${wantVerbs.sort().join(' ')}`);
            actual.push(`${u.name} ${ns} ${resource}: ${allowed.sort().join(' ')}`);
          }
        }
      }
    }
    assert.equal(crossTenant, 0, 'no cross-tenant permission at all');
    assert.deepEqual(actual, expected);
  });

  it('holds for real requests made as each member (impersonation)', async () => {
    const as = (t: string, role: Role) => admin.impersonate(user(t, role).name, user(t, role).groups);
    const status = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'ok';
      } catch (e) {
        return isForbidden(e) ? 'forbidden' : `error: ${(e as Error).message}`;
      }
    };
    const pod = (name: string, privileged = false) =>
      ({
        metadata: { name },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'c',
              image: 'example.test/app:1',
              securityContext: privileged
                ? { privileged: true }
                : { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      }) as KubeObject;
    const got = {
      devCreatesPod: await status(
        as(A, 'developer').create(Resources.Pod, { ...pod('p1'), metadata: { name: 'p1', namespace: a1 } }),
      ),
      devListsOtherSecrets: await status(as(A, 'developer').list(Resources.Secret, { namespace: b1 })),
      viewerListsPods: await status(as(A, 'viewer').list(Resources.Pod, { namespace: a1 })),
      viewerReadsSecrets: await status(as(A, 'viewer').list(Resources.Secret, { namespace: a1 })),
      otherTenantAdminListsPods: await status(as(B, 'admin').list(Resources.Pod, { namespace: a1 })),
    };
    assert.deepEqual(got, {
      devCreatesPod: 'ok',
      devListsOtherSecrets: 'forbidden',
      viewerListsPods: 'ok',
      viewerReadsSecrets: 'forbidden',
      otherTenantAdminListsPods: 'forbidden',
    });
    const created = await admin.get<KubeObject & { spec: { containers: { resources?: unknown }[] } }>(Resources.Pod, {
      namespace: a1,
      name: 'p1',
    });
    assert.deepEqual(
      created?.spec.containers[0]?.resources,
      { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
      'the LimitRange filled in the defaults',
    );
    await assert.rejects(
      as(A, 'admin').create(Resources.Pod, { ...pod('p2', true), metadata: { name: 'p2', namespace: a1 } }),
      /violates PodSecurity "restricted:latest"/,
      'Pod Security admission enforces the tenant level',
    );
  });

  it('lets no member escalate: no ClusterRole bindings beyond their own rights, no quota, network or tenant edits', async () => {
    const tenantAdmin = admin.impersonate(user(A, 'admin').name, user(A, 'admin').groups);
    const binding = (name: string, role: string) =>
      ({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: a1 },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user(A, 'admin').name }],
      }) as KubeObject;
    const attempts: [string, () => Promise<unknown>][] = [
      [
        'bind cluster-admin in own namespace',
        () => tenantAdmin.create(Resources.RoleBinding, binding('x1', 'cluster-admin')),
      ],
      [
        'bind plinth:platform-admin',
        () => tenantAdmin.create(Resources.RoleBinding, binding('x2', 'plinth:platform-admin')),
      ],
      [
        'create a ClusterRoleBinding',
        () =>
          tenantAdmin.create(Resources.ClusterRoleBinding, {
            ...binding('x3', 'plinth:viewer'),
            kind: 'ClusterRoleBinding',
            metadata: { name: `x3-${run}` },
          }),
      ],
      [
        'create a Role granting everything',
        () =>
          tenantAdmin.create(Resources.Role, {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'Role',
            metadata: { name: 'all', namespace: a1 },
            rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
          } as KubeObject),
      ],
      [
        'raise the quota',
        () =>
          tenantAdmin.mergePatch(
            Resources.ResourceQuota,
            { namespace: a1, name: 'plinth-tenant' },
            { spec: { hard: { pods: '1000' } } },
          ),
      ],
      [
        'delete the default-deny policy',
        () =>
          tenantAdmin.request(
            'DELETE',
            `/apis/networking.k8s.io/v1/namespaces/${a1}/networkpolicies/plinth-default-deny`,
          ),
      ],
      [
        'edit its Tenant',
        () => tenantAdmin.mergePatch(TenantType, { name: A }, { spec: { podSecurity: 'privileged' } }),
      ],
      [
        'relabel its namespace',
        () =>
          tenantAdmin.mergePatch(
            Resources.Namespace,
            { name: a1 },
            { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
          ),
      ],
    ];
    const outcomes: string[] = [];
    for (const [what, attempt] of attempts) {
      try {
        await attempt();
        outcomes.push(`${what}: allowed`);
      } catch (e) {
        outcomes.push(`${what}: ${isForbidden(e) ? 'forbidden' : (e as Error).message}`);
      }
    }
    assert.deepEqual(
      outcomes,
      attempts.map(([what]) => `${what}: forbidden`),
    );
    // Within their rights they may delegate: binding the viewer role to a colleague works.
    await tenantAdmin.create(Resources.RoleBinding, binding('colleague-views', 'plinth:viewer'));
  });

  it('renders the declared quota, LimitRange, default-deny network and Pod Security level', async () => {
    const quota = await admin.get<KubeObject & { spec: { hard: Record<string, string> } }>(Resources.ResourceQuota, {
      namespace: a1,
      name: 'plinth-tenant',
    });
    assert.deepEqual(quota?.spec.hard, {
      'limits.cpu': '4',
      'limits.memory': '8Gi',
      'requests.cpu': '4',
      'requests.memory': '8Gi',
      pods: '20',
      secrets: '50',
    });
    const policies = (await admin.list(Resources.NetworkPolicy, { namespace: a1 })).items.map((p) => p.metadata?.name);
    assert.deepEqual(policies.sort(), [
      'plinth-allow-dns',
      'plinth-allow-platform',
      'plinth-allow-tenant',
      'plinth-default-deny',
    ]);
    const peers = await admin.get<KubeObject & { spec: { ingress: { from: unknown[] }[] } }>(Resources.NetworkPolicy, {
      namespace: b1,
      name: 'plinth-allow-peers',
    });
    assert.deepEqual(peers?.spec.ingress[0]?.from, [
      { namespaceSelector: { matchLabels: { 'plinth.dev/tenant': A } } },
    ]);
    const ns = await admin.get(Resources.Namespace, { name: a1 });
    assert.equal(ns?.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.equal(ns?.metadata?.labels?.['plinth.dev/tenant'], A);
  });

  it('converges on edits and repairs drift', async () => {
    await admin.mergePatch(
      TenantType,
      { name: A },
      {
        spec: {
          namespaces: [a1, a3],
          quota: { cpu: '8', pods: 40, memory: null, secrets: null },
          limits: null,
          podSecurity: 'baseline',
        },
      },
    );
    await converged(A);
    const quota = await admin.get<KubeObject & { spec: { hard: Record<string, string> } }>(Resources.ResourceQuota, {
      namespace: a1,
      name: 'plinth-tenant',
    });
    assert.deepEqual(quota?.spec.hard, { 'limits.cpu': '8', 'requests.cpu': '8', pods: '40' });
    // No `limits` any more, but a quota on cpu: the LimitRange keeps default cpu limits (and
    // drops the memory ones, memory being no longer under quota).
    const limitRange = await admin.get<KubeObject & { spec: { limits: unknown[] } }>(Resources.LimitRange, {
      namespace: a1,
      name: 'plinth-tenant',
    });
    assert.deepEqual(limitRange?.spec.limits, [
      { type: 'Container', default: { cpu: '1' }, defaultRequest: { cpu: '100m' } },
    ]);
    assert.equal(
      (await admin.get(Resources.Namespace, { name: a1 }))?.metadata?.labels?.['pod-security.kubernetes.io/enforce'],
      'baseline',
    );
    assert.ok(
      await admin.get(Resources.NetworkPolicy, { namespace: a3, name: 'plinth-default-deny' }),
      'the added namespace is set up',
    );
    await eventually(
      `${a2}, created by the tenant and no longer in it, is deleted`,
      async () => {
        const ns = await admin.get<KubeObject & { status?: { phase?: string } }>(Resources.Namespace, {
          name: a2,
        });
        return !ns || ns.status?.phase === 'Terminating' ? true : undefined;
      },
      30_000,
    );
    await admin.delete(Resources.NetworkPolicy, { namespace: a1, name: 'plinth-default-deny' });
    await eventually(
      'a deleted default-deny policy comes back',
      () => admin.get(Resources.NetworkPolicy, { namespace: a1, name: 'plinth-default-deny' }),
      30_000,
    );
  });

  it('reports that a virtual cluster needs Flux when the cluster has none, and recovers when it is dropped', async () => {
    await admin.mergePatch(TenantType, { name: A }, { spec: { virtualCluster: { enabled: true } } });
    const unavailable = await eventually(
      'Ready=False with the reason',
      async () => {
        const t = await getTenant(A);
        const ready = t?.status?.conditions?.find((c) => c.type === 'Ready') as
          | { status: string; reason?: string; message?: string; observedGeneration?: number }
          | undefined;
        return ready?.observedGeneration === t?.metadata?.generation && ready?.reason === 'VirtualClusterUnavailable'
          ? ready
          : undefined;
      },
      30_000,
    );
    assert.match(unavailable.message ?? '', /needs Flux \(helm\.toolkit\.fluxcd\.io\/v2 HelmRelease\)/);
    await admin.mergePatch(TenantType, { name: A }, { spec: { virtualCluster: null } });
    await converged(A);
  });

  it('on delete, removes the namespaces it created and releases the ones it adopted', async () => {
    await admin.delete(TenantType, { name: B });
    await eventually('Tenant B gone', async () => ((await getTenant(B)) ? undefined : true), 30_000);
    const adopted = await admin.get(Resources.Namespace, { name: b1 });
    assert.ok(adopted && !adopted.metadata?.deletionTimestamp, 'the adopted namespace stays');
    assert.equal(adopted.metadata?.labels?.['plinth.dev/tenant'], undefined, 'and is no longer labelled');
    assert.deepEqual((await admin.list(Resources.NetworkPolicy, { namespace: b1 })).items, [], 'its policies are gone');
    await admin.delete(TenantType, { name: A });
    await eventually('Tenant A gone', async () => ((await getTenant(A)) ? undefined : true), 30_000);
    for (const name of [a1, a3]) {
      const ns = await admin.get(Resources.Namespace, { name });
      assert.ok(!ns || ns.metadata?.deletionTimestamp, `${name}, which it created, is being deleted`);
    }
  });
});

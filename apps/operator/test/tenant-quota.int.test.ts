// A Tenant's quota and the Function pods in its namespace, on the ground's real API server
// (ResourceQuota and LimitRanger admission, the controller manager's Deployment and ReplicaSet
// controllers, kwok nodes): a quota on cpu and memory with no `limits` still admits Function
// pods (the Tenant's LimitRange fills in their limits), and when admission does refuse a
// revision's pods the Function's conditions say why, in the API server's words.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { FunctionKind, type FunctionObject, TenantKind } from '@plinth/api';
import { eventually } from '@plinth/ground';
import { getCondition, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { DEFAULT_CONTAINER_LIMITS } from '@plinth/tenancy';
import { useOperator } from './support.ts';

const FunctionType = resourceOf(FunctionKind);
const TenantType = resourceOf(TenantKind);
const run = Math.random().toString(36).slice(2, 7);
const tenant = `tq-${run}`;
const ns = `tq-${run}-fns`;

type Pod = KubeObject & {
  spec: {
    containers: { name: string; resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }[];
  };
};

const env = { PLINTH_GATEWAY_URL: 'http://gateway.test' };
// Functions in the Tenant's namespace, which the Tenant makes; the Tenant controller watches
// every namespace. The Tenant is deleted while the operator runs, so its finalizer releases
// the namespace it created.
const t = useOperator('tq', {
  env,
  namespace: ns,
  beforeStop: async () => {
    await t.client.delete(TenantType, { name: tenant });
    await eventually(
      'Tenant gone',
      async () => (await t.client.get(TenantType, { name: tenant })) === undefined,
      60_000,
    ).catch(async () => t.client.mergePatch(TenantType, { name: tenant }, { metadata: { finalizers: null } }));
  },
});

before(async () => {
  await t.ready;
  // The reported trouble: a quota on cpu and memory and no `limits` at all.
  await t.client.create(TenantType, {
    apiVersion: TenantKind.apiVersion,
    kind: TenantKind.kind,
    metadata: { name: tenant },
    spec: { namespaces: [ns], quota: { cpu: '2', memory: '2Gi', pods: 10 } },
  } as KubeObject);
  await eventually(
    `Tenant ${tenant} Ready`,
    async () => {
      const x = await t.client.get<KubeObject & { status?: { conditions?: never[] } }>(TenantType, { name: tenant });
      return getCondition(x?.status?.conditions, 'Ready')?.status === 'True';
    },
    60_000,
  );
});

const fn = (name: string, spec: Record<string, unknown>) =>
  t.client.create(FunctionType, {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name, namespace: ns },
    spec: { image: 'registry.example.com/team/app:1.4', ...spec },
  } as KubeObject);
const getFn = (name: string) => t.client.get<FunctionObject & KubeObject>(FunctionType, { namespace: ns, name });
const pods = async (revision: string) =>
  (await t.client.list<Pod>(Resources.Pod, { namespace: ns, labelSelector: `plinth.dev/revision=${revision}` })).items;

describe('Tenant quota and Function pods', () => {
  it('admits a Function’s pods under a quota with no limits: the LimitRange gives them limits', async () => {
    await fn('hello', {});
    const ready = await eventually(
      'Function hello Ready (its pod admitted and run by kwok)',
      async () => {
        const f = await getFn('hello');
        return getCondition(f?.status?.conditions, 'Ready')?.status === 'True' && f;
      },
      60_000,
    );
    assert.equal(ready.status?.readyReplicas, 1);
    const [pod] = await pods('hello-00001');
    const resources = pod?.spec.containers.find((c) => c.name === 'function')?.resources;
    assert.deepEqual(resources?.limits, {
      cpu: DEFAULT_CONTAINER_LIMITS.cpu.limit,
      memory: DEFAULT_CONTAINER_LIMITS.memory.limit,
    });
    assert.deepEqual(resources?.requests, {
      cpu: DEFAULT_CONTAINER_LIMITS.cpu.request,
      memory: DEFAULT_CONTAINER_LIMITS.memory.request,
    });
  });

  it('says in the Function’s conditions why admission refuses its pods (exceeded quota)', async () => {
    // 3Gi of memory in a namespace allowed 2Gi: the ResourceQuota admission refuses every pod.
    await fn('greedy', { resources: { memory: '3Gi' } });
    const f = await eventually(
      'Function greedy reports the refusal',
      async () => {
        const f = await getFn('greedy');
        return getCondition(f?.status?.conditions, 'Ready')?.reason === 'PodCreationFailed' && f;
      },
      60_000,
    );
    const ready = getCondition(f.status?.conditions, 'Ready');
    const degraded = getCondition(f.status?.conditions, 'Degraded');
    assert.equal(ready?.status, 'False');
    assert.match(ready?.message ?? '', /^revision greedy-00001 cannot create pods: .*exceeded quota: plinth-tenant/);
    assert.match(ready?.message ?? '', /limited: .*limits\.memory=2Gi/);
    assert.equal(degraded?.status, 'True');
    assert.equal(degraded?.reason, 'PodCreationFailed');
    assert.equal(degraded?.message, ready?.message);
    assert.deepEqual(await pods('greedy-00001'), [], 'no pod was admitted');

    // Within the quota again: the next revision runs and the conditions clear.
    await t.client.mergePatch(
      FunctionType,
      { namespace: ns, name: 'greedy' },
      { spec: { resources: { memory: '256Mi' } } },
    );
    await eventually(
      'greedy Ready, not Degraded',
      async () => {
        const g = await getFn('greedy');
        return (
          getCondition(g?.status?.conditions, 'Ready')?.status === 'True' &&
          getCondition(g?.status?.conditions, 'Degraded')?.status === 'False'
        );
      },
      60_000,
    );
  });

  // What a Tenant rendered before it defaulted limits, in a namespace of its own: the pods
  // fail admission with "must specify limits.cpu", which once showed only as RevisionNotReady.
  describe('in a namespace with a quota and no LimitRange, under an operator of its own', () => {
    const plain = useOperator('tq-plain', { env });

    it('names the quota in the reported symptom: a quota on cpu and memory and no LimitRange at all', async () => {
      await plain.client.create(Resources.ResourceQuota, {
        metadata: { name: 'compute', namespace: plain.ns },
        spec: { hard: { 'limits.cpu': '2', 'requests.cpu': '2', 'limits.memory': '2Gi', 'requests.memory': '2Gi' } },
      } as KubeObject);
      await plain.client.create(FunctionType, {
        apiVersion: FunctionKind.apiVersion,
        kind: FunctionKind.kind,
        metadata: { name: 'bare', namespace: plain.ns },
        spec: { image: 'registry.example.com/team/app:1.4' },
      } as KubeObject);
      const f = await eventually(
        'Function bare reports the refusal',
        async () => {
          const f = await plain.client.get<FunctionObject & KubeObject>(FunctionType, {
            namespace: plain.ns,
            name: 'bare',
          });
          return getCondition(f?.status?.conditions, 'Ready')?.reason === 'PodCreationFailed' && f;
        },
        60_000,
      );
      const message = getCondition(f.status?.conditions, 'Ready')?.message ?? '';
      assert.match(
        message,
        /^revision bare-00001 cannot create pods: .*failed quota: compute: must specify limits\.cpu/,
      );
      assert.equal(getCondition(f.status?.conditions, 'Degraded')?.message, message);
    });
  });
});

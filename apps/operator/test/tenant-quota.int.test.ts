// A Tenant's quota and the Function pods in its namespace, on the ground's real API server
// (ResourceQuota and LimitRanger admission, the controller manager's Deployment and ReplicaSet
// controllers, kwok nodes): a quota on cpu and memory with no `limits` still admits Function
// pods (the Tenant's LimitRange fills in their limits), and when admission does refuse a
// revision's pods the Function's conditions say why, in the API server's words.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FunctionKind, type FunctionObject, plinthKinds, TenantKind } from '@plinth/api';
import { eventually, ground, requireGround } from '@plinth/ground';
import { ensureCrd, getCondition, KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { build, configFromEnv, type Operator } from '@plinth/operator';
import { DEFAULT_CONTAINER_LIMITS } from '@plinth/tenancy';

const FunctionType = resourceOf(FunctionKind);
const TenantType = resourceOf(TenantKind);
const run = Math.random().toString(36).slice(2, 7);
const tenant = `tq-${run}`;
const ns = `tq-${run}-fns`;
let client: KubeClient;
let operator: Operator;

type Pod = KubeObject & {
  spec: {
    containers: { name: string; resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }[];
  };
};

before(async () => {
  await requireGround('kubernetes');
  client = KubeClient.load(ground('KUBECONFIG'));
  for (const kind of plinthKinds) await ensureCrd(client, kind.crd(), { fieldManager: 'plinth-test' });
  operator = build({
    client,
    config: configFromEnv({ PLINTH_GATEWAY_URL: 'http://gateway.test' }),
    namespace: ns, // Functions here; the Tenant controller watches every namespace
    concurrency: async () => new Map(),
    autoscaleIntervalMs: 3_600_000,
  });
  await operator.start();
  // The reported trouble: a quota on cpu and memory and no `limits` at all.
  await client.create(TenantType, {
    apiVersion: TenantKind.apiVersion,
    kind: TenantKind.kind,
    metadata: { name: tenant },
    spec: { namespaces: [ns], quota: { cpu: '2', memory: '2Gi', pods: 10 } },
  } as KubeObject);
  await eventually(
    `Tenant ${tenant} Ready`,
    async () => {
      const t = await client.get<KubeObject & { status?: { conditions?: never[] } }>(TenantType, { name: tenant });
      return getCondition(t?.status?.conditions, 'Ready')?.status === 'True';
    },
    60_000,
  );
});

after(async () => {
  // Deleted while the operator runs, so its finalizer releases the namespace it created.
  await client?.delete(TenantType, { name: tenant });
  await eventually(
    'Tenant gone',
    async () => (await client.get(TenantType, { name: tenant })) === undefined,
    60_000,
  ).catch(async () => client.mergePatch(TenantType, { name: tenant }, { metadata: { finalizers: null } }));
  await operator?.stop();
  await client?.delete(Resources.Namespace, { name: ns });
});

const fn = (name: string, spec: Record<string, unknown>) =>
  client.create(FunctionType, {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name, namespace: ns },
    spec: { image: 'registry.example.com/team/app:1.4', ...spec },
  } as KubeObject);
const getFn = (name: string) => client.get<FunctionObject & KubeObject>(FunctionType, { namespace: ns, name });
const pods = async (revision: string) =>
  (await client.list<Pod>(Resources.Pod, { namespace: ns, labelSelector: `plinth.dev/revision=${revision}` })).items;

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
    await client.mergePatch(
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

  it('names the quota in the reported symptom: a quota on cpu and memory and no LimitRange at all', async () => {
    // What a Tenant rendered before it defaulted limits, in a namespace of its own: the pods
    // fail admission with "must specify limits.cpu", which once showed only as RevisionNotReady.
    const plain = `tq-${run}-plain`;
    await client.create(Resources.Namespace, { metadata: { name: plain } });
    const second = build({
      client,
      config: configFromEnv({ PLINTH_GATEWAY_URL: 'http://gateway.test' }),
      namespace: plain,
      concurrency: async () => new Map(),
      autoscaleIntervalMs: 3_600_000,
    });
    await second.start();
    try {
      await client.create(Resources.ResourceQuota, {
        metadata: { name: 'compute', namespace: plain },
        spec: { hard: { 'limits.cpu': '2', 'requests.cpu': '2', 'limits.memory': '2Gi', 'requests.memory': '2Gi' } },
      } as KubeObject);
      await client.create(FunctionType, {
        apiVersion: FunctionKind.apiVersion,
        kind: FunctionKind.kind,
        metadata: { name: 'bare', namespace: plain },
        spec: { image: 'registry.example.com/team/app:1.4' },
      } as KubeObject);
      const f = await eventually(
        'Function bare reports the refusal',
        async () => {
          const f = await client.get<FunctionObject & KubeObject>(FunctionType, { namespace: plain, name: 'bare' });
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
    } finally {
      await second.stop();
      await client.delete(Resources.Namespace, { name: plain });
    }
  });
});

// The cluster autoscaler against the ground's API server: in-flight counts (as the gateways
// report them) drive a revision's Deployment up in a burst and to zero when idle. The clock
// is injected so the windows are stepped through, not waited for.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FunctionKind, type FunctionObject } from '@plinth/api';
import { eventually } from '@plinth/ground';
import { getCondition, type KubeObject, Resources } from '@plinth/kube';
import { FunctionType } from '../src/function/reconcile.ts';
import { useOperator } from './support.ts';

let clock = 1_000_000;
const inflight = new Map<string, number>();
// The autoscaler's timer stays idle: it is stepped by hand below, with these counts and clock.
const t = useOperator('scale', { deps: { concurrency: async () => new Map(inflight), now: () => clock } });

const replicas = async () =>
  (
    await t.client.get<KubeObject & { spec: { replicas: number } }>(Resources.Deployment, {
      namespace: t.ns,
      name: 'burst-00001',
    })
  )?.spec.replicas;

it('scales a revision up on a burst of in-flight requests and to zero after it goes idle', async () => {
  await t.client.create(FunctionType, {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name: 'burst', namespace: t.ns },
    spec: {
      runtime: 'python',
      source: { inline: 'def handle(req):\n    return "ok"\n' },
      scaling: { maxReplicas: 8, targetConcurrency: 10, scaleToZeroAfterSeconds: 30, scaleDownDelaySeconds: 0 },
    },
  } as KubeObject);
  await eventually('burst Ready', async () => {
    const f = await t.client.get<FunctionObject & KubeObject>(FunctionType, { namespace: t.ns, name: 'burst' });
    return getCondition(f?.status?.conditions, 'Ready')?.status === 'True' && (f?.status?.traffic?.length ?? 0) > 0;
  });
  assert.equal(await replicas(), 1, 'a new revision starts with one replica (the Deployment default)');

  inflight.set(`${t.ns}/burst-00001`, 45);
  assert.deepEqual(await t.operator.autoscaler.step(), new Map([[`${t.ns}/burst-00001`, 5]]));
  assert.equal(await replicas(), 5);
  const ready = await eventually('5 ready replicas reported in status', async () => {
    const f = await t.client.get<FunctionObject & KubeObject>(FunctionType, { namespace: t.ns, name: 'burst' });
    return f?.status?.readyReplicas === 5 && f;
  });
  assert.equal(getCondition(ready.status?.conditions, 'Ready')?.status, 'True');

  // Load stops. Within scaleToZeroAfter the revision keeps one replica; after it, zero.
  inflight.set(`${t.ns}/burst-00001`, 0);
  clock += 10_000;
  await t.operator.autoscaler.step();
  clock += 70_000;
  await t.operator.autoscaler.step();
  assert.equal(await replicas(), 0);
  const idle = await eventually('status after scale to zero', async () => {
    const f = await t.client.get<FunctionObject & KubeObject>(FunctionType, { namespace: t.ns, name: 'burst' });
    return f?.status?.readyReplicas === 0 && f;
  });
  assert.equal(
    getCondition(idle.status?.conditions, 'Ready')?.status,
    'True',
    'a revision at zero still serves (it wakes)',
  );
  assert.equal(idle.status?.revisions?.[0]?.ready, true);
});

// Against the test ground's real kube-apiserver (RBAC on), kube-controller-manager,
// kube-scheduler and kwok nodes.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Sample } from '@plinth/api';
import { eventually, ground } from '@plinth/ground';
import {
  ConditionType,
  Controller,
  ensureCrd,
  getCondition,
  hasFinalizer,
  KubeApiError,
  KubeClient,
  type KubeObject,
  ownerReference,
  type ReconcileFailure,
  Resources,
  RetryAfterError,
  resourceOf,
  setCondition,
  setFinalizer,
  TerminalError,
} from '@plinth/kube';
import { useNamespace } from './support.ts';

type SampleObj = Sample & KubeObject;
const SampleType = resourceOf(Sample);
const space = useNamespace('kit');
let admin: KubeClient;
let ns: string;

before(async () => {
  ({ client: admin, name: ns } = await space());
  await ensureCrd(admin, Sample.crd(), { fieldManager: 'plinth-test' });
});

describe('RBAC on the ground API server', () => {
  it('gives a user without bindings 403 while the admin lists pods', async () => {
    const nobody = KubeClient.load(ground('K8S_NOBODY_KUBECONFIG'));
    await assert.rejects(nobody.list(Resources.Pod, { namespace: ns }), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.statusCode, 403);
      assert.match(e.message, /User "plinth-ground-nobody" cannot list resource "pods"/);
      return true;
    });
    const pods = await admin.list(Resources.Pod, { namespace: ns });
    assert.deepEqual(pods.items, []);
  });
});

describe('a CRD rendered from packages/api', () => {
  it('is served with its defaults applied by the API server', async () => {
    const created = await admin.create<SampleObj>(SampleType, {
      metadata: { name: 'valid', namespace: ns },
      spec: { message: 'hello' },
    } as SampleObj);
    assert.equal(created.spec.replicas, 1);
    assert.equal(created.spec.mode, 'fast');
  });

  it("rejects an invalid object with the API server's validation message, matching our own validation", async () => {
    const bad = {
      apiVersion: Sample.apiVersion,
      kind: Sample.kind,
      metadata: { name: 'invalid', namespace: ns },
      spec: { message: 'x', replicas: 11, mode: 'turbo' },
    };
    await assert.rejects(admin.create(SampleType, bad as KubeObject), (e: unknown) => {
      assert.ok(e instanceof KubeApiError);
      assert.equal(e.statusCode, 422);
      assert.match(
        e.message,
        /spec\.replicas: Invalid value: 11: spec\.replicas in body should be less than or equal to 10/,
      );
      assert.match(e.message, /spec\.mode: Unsupported value: "turbo": supported values: "fast", "safe"/);
      return true;
    });
    assert.deepEqual(
      Sample.validate(bad)
        .map((i) => i.path)
        .sort(),
      ['spec.mode', 'spec.replicas'],
    );
  });
});

describe('workloads on kwok nodes', () => {
  it('turns a Deployment Available through the scheduler, controllers and kwok', async () => {
    await admin.apply(
      Resources.Deployment,
      {
        metadata: { name: 'web', namespace: ns },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'localhost/web:1' }] },
          },
        },
      } as KubeObject,
      { fieldManager: 'plinth-test' },
    );
    const dep = await eventually(
      'Deployment web Available',
      async () => {
        const d = await admin.get<
          KubeObject & { status?: { availableReplicas?: number; conditions?: { type: string; status: string }[] } }
        >(Resources.Deployment, { namespace: ns, name: 'web' });
        return d?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') && d;
      },
      60_000,
    );
    assert.equal(dep.status?.availableReplicas, 2);
    const pods = await admin.list<KubeObject & { spec: { nodeName?: string }; status: { phase: string } }>(
      Resources.Pod,
      {
        namespace: ns,
        labelSelector: 'app=web',
      },
    );
    assert.equal(pods.items.length, 2);
    for (const p of pods.items) {
      assert.match(p.spec.nodeName ?? '', /^kwok-node-/);
      assert.equal(p.status.phase, 'Running');
    }
  });
});

describe('a controller built on the kit', () => {
  it('reconciles a Sample to Ready with observedGeneration, re-converges on edits, and honours its finalizer', async () => {
    const FINALIZER = 'test.plinth.dev/cleanup';
    const cleaned: string[] = [];
    const controller = new Controller<SampleObj>({
      name: 'sample',
      client: admin,
      type: SampleType,
      namespace: ns,
      async reconcile({ object, name }) {
        if (!object) return;
        if (object.metadata?.deletionTimestamp) {
          if (hasFinalizer(object, FINALIZER)) {
            cleaned.push(name);
            await setFinalizer(admin, SampleType, object, FINALIZER, false);
          }
          return;
        }
        if (!hasFinalizer(object, FINALIZER)) {
          await setFinalizer(admin, SampleType, object, FINALIZER, true);
          return; // the update brings us back
        }
        const generation = object.metadata?.generation;
        const conditions = setCondition(
          object.status?.conditions,
          { type: ConditionType.Ready, status: 'True', reason: 'Echoed', message: `echoing ${object.spec.message}` },
          { observedGeneration: generation },
        );
        await admin.apply(
          SampleType,
          {
            metadata: { name, namespace: ns },
            status: { observedGeneration: generation, echo: object.spec.message, conditions },
          } as never,
          { fieldManager: 'sample-controller', subresource: 'status' },
        );
      },
    });
    await controller.start();
    try {
      await admin.create(SampleType, {
        metadata: { name: 'echo', namespace: ns },
        spec: { message: 'one' },
      } as SampleObj);
      const ready = (gen: number, echo: string) =>
        eventually(`Sample echo Ready at generation ${gen}`, async () => {
          const s = await admin.get<SampleObj>(SampleType, { namespace: ns, name: 'echo' });
          const c = getCondition(s?.status?.conditions, 'Ready');
          return c?.status === 'True' && c.observedGeneration === gen && s?.status?.echo === echo && s;
        });
      const first = await ready(1, 'one');
      assert.deepEqual(first.metadata?.finalizers, [FINALIZER]);
      await admin.mergePatch(SampleType, { namespace: ns, name: 'echo' }, { spec: { message: 'two' } });
      await ready(2, 'two');
      await admin.delete(SampleType, { namespace: ns, name: 'echo' });
      await eventually('Sample echo gone after its finalizer ran', async () =>
        (await admin.get(SampleType, { namespace: ns, name: 'echo' })) === undefined ? true : undefined,
      );
      assert.deepEqual(cleaned, ['echo']);
    } finally {
      await controller.stop();
    }
  });
});

/** A Sample in the test namespace whose message is its name. */
function sample(name: string, labels: Record<string, string>): SampleObj {
  return {
    apiVersion: Sample.apiVersion,
    kind: Sample.kind,
    metadata: { name, namespace: ns, labels },
    spec: { message: name, replicas: 1, mode: 'fast' },
  };
}

describe('reconcile outcomes', () => {
  it('backs off on errors, waits on RetryAfterError, stops on TerminalError, and tells onError', async () => {
    const calls: Record<string, number> = {};
    const failures: ReconcileFailure[] = [];
    const controller = new Controller<SampleObj>({
      name: 'outcomes',
      client: admin,
      type: SampleType,
      namespace: ns,
      labelSelector: 'test=outcomes',
      queue: { baseDelayMs: 50, maxDelayMs: 1000 },
      async reconcile({ name }) {
        const n = (calls[name] ?? 0) + 1;
        calls[name] = n;
        if (name === 'flaky' && n <= 2) throw new Error(`transient failure ${n}`);
        if (name === 'broken') throw new TerminalError('spec can never work');
        if (name === 'waiting' && n === 1) throw new RetryAfterError(100, 'dependency not ready');
      },
      onError: (f) => {
        failures.push(f);
      },
    });
    await controller.start();
    try {
      for (const name of ['flaky', 'broken', 'waiting']) {
        await admin.create(SampleType, sample(name, { test: 'outcomes' }));
      }
      await eventually('flaky to succeed on its third attempt', () => calls.flaky === 3);
      await eventually('waiting to be retried after its delay', () => calls.waiting === 2);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(calls.flaky, 3, 'a success must not be retried');
      assert.equal(calls.broken, 1, 'a terminal error must not be retried');
      assert.equal(calls.waiting, 2);
      const flaky = failures.filter((f) => f.key === `${ns}/flaky`);
      assert.deepEqual(
        flaky.map((f) => [f.attempt, f.terminal, f.retryInMs]),
        [
          [1, false, 50],
          [2, false, 100],
        ],
      );
      const broken = failures.filter((f) => f.key === `${ns}/broken`);
      assert.deepEqual(
        broken.map((f) => [f.terminal, f.retryInMs, (f.error as Error).message]),
        [[true, undefined, 'spec can never work']],
      );
      assert.equal(failures.filter((f) => f.key === `${ns}/waiting`).length, 0, 'RetryAfterError is not a failure');
    } finally {
      await controller.stop();
    }
  });

  it('re-creates an owned child that is deleted, via owner references and server-side apply', async () => {
    let reconciles = 0;
    const controller = new Controller<SampleObj>({
      name: 'owner',
      client: admin,
      type: SampleType,
      namespace: ns,
      labelSelector: 'test=owner',
      owns: [Resources.ConfigMap],
      async reconcile({ object }) {
        if (!object) return;
        reconciles++;
        await admin.apply(
          Resources.ConfigMap,
          {
            metadata: {
              name: `${object.metadata?.name}-echo`,
              namespace: ns,
              ownerReferences: [ownerReference(object)],
            },
            data: { message: object.spec.message },
          } as KubeObject,
          { fieldManager: 'owner-controller' },
        );
      },
    });
    await controller.start();
    try {
      await admin.create(SampleType, {
        ...sample('parent', { test: 'owner' }),
        spec: { message: 'owned', replicas: 1, mode: 'fast' },
      });
      const cm = await eventually('child ConfigMap', () =>
        admin.get<KubeObject & { data?: Record<string, string> }>(Resources.ConfigMap, {
          namespace: ns,
          name: 'parent-echo',
        }),
      );
      assert.deepEqual(cm.data, { message: 'owned' });
      assert.equal(cm.metadata?.ownerReferences?.[0]?.kind, 'Sample');
      const before = reconciles;
      await admin.delete(Resources.ConfigMap, { namespace: ns, name: 'parent-echo' });
      await eventually('child ConfigMap re-created after deletion', async () => {
        const again = await admin.get(Resources.ConfigMap, { namespace: ns, name: 'parent-echo' });
        return again && again.metadata?.uid !== cm.metadata?.uid;
      });
      assert.ok(reconciles > before, 'deleting the child must trigger a reconcile of its owner');
    } finally {
      await controller.stop();
    }
  });
});

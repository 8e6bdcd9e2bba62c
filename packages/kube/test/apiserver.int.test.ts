// Against the test ground's real kube-apiserver (RBAC on), kube-controller-manager,
// kube-scheduler and kwok nodes.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Sample } from '@plinth/api';
import { eventually, ground } from '@plinth/ground';
import {
  ConditionType,
  Controller,
  getCondition,
  hasFinalizer,
  KubeApiError,
  KubeClient,
  type KubeObject,
  Resources,
  resourceOf,
  setCondition,
  setFinalizer,
} from '@plinth/kube';
import { useNamespace } from './support.ts';

type SampleObj = Sample & KubeObject;
const SampleType = resourceOf(Sample);
const space = useNamespace('kit');
let admin: KubeClient;
let ns: string;

before(async () => {
  admin = space.client;
  ns = space.name;
  await admin.apply(Resources.CustomResourceDefinition, Sample.crd() as KubeObject, { fieldManager: 'plinth-test' });
  await eventually('Sample CRD Established', async () => {
    const crd = await admin.get<{ status?: { conditions?: { type: string; status: string }[] } } & KubeObject>(
      Resources.CustomResourceDefinition,
      { name: Sample.crdName },
    );
    return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
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

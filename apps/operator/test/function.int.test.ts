// The Function controller against the ground's real API server, kube-controller-manager
// (garbage collection) and kwok (pods become ready without a container runtime).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FunctionKind, type FunctionObject } from '@plinth/api';
import { eventually } from '@plinth/ground';
import { getCondition, KubeApiError, type KubeObject, Resources } from '@plinth/kube';
import { configFromEnv } from '@plinth/operator';
import { FunctionType } from '../src/function/reconcile.ts';
import { useOperator } from './support.ts';

type Deployment = KubeObject & {
  spec: {
    replicas?: number;
    template: {
      spec: {
        serviceAccountName: string;
        automountServiceAccountToken: boolean;
        containers: {
          image: string;
          env: { name: string; value?: string }[];
          readinessProbe: { httpGet: { path: string } };
          livenessProbe: { httpGet: { path: string } };
          securityContext: Record<string, unknown>;
          resources?: { limits?: Record<string, string> };
        }[];
        initContainers?: { name: string; image: string }[];
      };
    };
  };
};

const env = { PLINTH_GATEWAY_URL: 'http://gateway.test' };
const config = configFromEnv(env);
const t = useOperator('fn', { env });

const get = (name: string) => t.client.get<FunctionObject & KubeObject>(FunctionType, { namespace: t.ns, name });
const deployment = (name: string) => t.client.get<Deployment>(Resources.Deployment, { namespace: t.ns, name });

function fnObject(name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name, namespace: t.ns },
    spec,
  } as KubeObject;
}

async function readyAt(name: string, generation: number) {
  return eventually(
    `Function ${name} Ready at generation ${generation}`,
    async () => {
      const f = await get(name);
      // Ready, and the rollout settled: until the latest revision is ready, traffic meant for
      // it stays on the last ready one (Ready is True meanwhile, Progressing too).
      const ready = getCondition(f?.status?.conditions, 'Ready');
      const progressing = getCondition(f?.status?.conditions, 'Progressing');
      return (
        ready?.status === 'True' &&
        ready.observedGeneration === generation &&
        progressing?.status === 'False' &&
        progressing.observedGeneration === generation &&
        f
      );
    },
    60_000,
  );
}

describe('Function controller', () => {
  it('creates a revision Deployment, Service, ServiceAccount and source ConfigMap, and turns Ready on kwok', async () => {
    await t.client.create(
      FunctionType,
      fnObject('hello', {
        runtime: 'node',
        source: { inline: "export default () => 'hi'" },
        env: [{ name: 'GREETING', value: 'hi' }],
        resources: { cpu: '100m', memory: '128Mi', gpu: 1 },
      }),
    );
    const fn = await readyAt('hello', 1);
    assert.equal(fn.status?.latestCreatedRevision, 'hello-00001');
    assert.equal(fn.status?.latestReadyRevision, 'hello-00001');
    assert.deepEqual(fn.status?.traffic, [{ revision: 'hello-00001', percent: 100, latestRevision: true }]);
    assert.equal(fn.status?.url, `http://gateway.test/fn/${t.ns}/hello`);
    assert.equal(fn.status?.readyReplicas, 1);

    const d = await deployment('hello-00001');
    const pod = d?.spec.template.spec;
    const c = pod?.containers[0];
    assert.equal(c?.image, config.runtimeImages.node);
    assert.equal(c?.readinessProbe.httpGet.path, '/_/ready');
    assert.equal(c?.livenessProbe.httpGet.path, '/_/health');
    assert.deepEqual(
      c?.env.filter((e) => ['PLINTH_HANDLER', 'GREETING'].includes(e.name)),
      [
        { name: 'PLINTH_HANDLER', value: 'handler.default' },
        { name: 'GREETING', value: 'hi' },
      ],
    );
    assert.equal(c?.resources?.limits?.['nvidia.com/gpu'], '1');
    assert.equal(c?.securityContext.readOnlyRootFilesystem, true);
    assert.equal(pod?.serviceAccountName, 'fn-hello');
    assert.equal(pod?.automountServiceAccountToken, false);
    const sa = await t.client.get<KubeObject & { automountServiceAccountToken?: boolean }>(Resources.ServiceAccount, {
      namespace: t.ns,
      name: 'fn-hello',
    });
    assert.equal(sa?.automountServiceAccountToken, false);
    const svc = await t.client.get<KubeObject & { spec: { selector: Record<string, string> } }>(Resources.Service, {
      namespace: t.ns,
      name: 'hello-00001',
    });
    assert.deepEqual(svc?.spec.selector, { 'plinth.dev/revision': 'hello-00001' });
    const cm = await t.client.get<KubeObject & { data: Record<string, string>; immutable: boolean }>(
      Resources.ConfigMap,
      {
        namespace: t.ns,
        name: 'hello-00001-source',
      },
    );
    assert.deepEqual(cm?.data, { 'handler.mjs': "export default () => 'hi'" });
    assert.equal(cm?.immutable, true);
  });

  it('makes an edit a new revision and moves traffic as declared, then rolls back', async () => {
    await t.client.mergePatch(
      FunctionType,
      { namespace: t.ns, name: 'hello' },
      { spec: { env: [{ name: 'GREETING', value: 'hello' }] } },
    );
    let fn = await readyAt('hello', 2);
    assert.equal(fn.status?.latestReadyRevision, 'hello-00002');
    assert.deepEqual(fn.status?.traffic, [{ revision: 'hello-00002', percent: 100, latestRevision: true }]);
    assert.equal((await deployment('hello-00001'))?.spec.replicas, 0, 'the retired revision is scaled to zero');

    // Canary: 80% stays on the first revision, 20% follows the latest.
    await t.client.mergePatch(
      FunctionType,
      { namespace: t.ns, name: 'hello' },
      {
        spec: {
          traffic: [
            { revision: 'hello-00001', percent: 80 },
            { latestRevision: true, percent: 20, tag: 'canary' },
          ],
        },
      },
    );
    fn = await readyAt('hello', 3);
    assert.deepEqual(fn.status?.traffic, [
      { revision: 'hello-00001', percent: 80 },
      { revision: 'hello-00002', percent: 20, tag: 'canary', latestRevision: true },
    ]);
    assert.equal(fn.status?.latestCreatedRevision, 'hello-00002', 'a traffic change is not a new revision');
    assert.equal((await deployment('hello-00001'))?.spec.replicas, 1, 'a revision back in traffic gets capacity again');

    // Rollback: everything to the first revision.
    await t.client.mergePatch(
      FunctionType,
      { namespace: t.ns, name: 'hello' },
      { spec: { traffic: [{ revision: 'hello-00001', percent: 100 }] } },
    );
    fn = await readyAt('hello', 4);
    assert.deepEqual(fn.status?.traffic, [{ revision: 'hello-00001', percent: 100 }]);
  });

  it('deletes revisions beyond revisionHistoryLimit that take no traffic', async () => {
    await t.client.mergePatch(
      FunctionType,
      { namespace: t.ns, name: 'hello' },
      { spec: { traffic: null, revisionHistoryLimit: 0, env: [{ name: 'GREETING', value: 'third' }] } },
    );
    const fn = await readyAt('hello', 5);
    assert.equal(fn.status?.latestReadyRevision, 'hello-00003');
    // The reconcile deletes a retired revision's Deployment, then its Service, then its ConfigMap.
    await eventually('retired revisions deleted, Services and source ConfigMaps too', async () =>
      (await deployment('hello-00001')) === undefined &&
      (await deployment('hello-00002')) === undefined &&
      (await t.client.get(Resources.Service, { namespace: t.ns, name: 'hello-00001' })) === undefined &&
      (await t.client.get(Resources.ConfigMap, { namespace: t.ns, name: 'hello-00002-source' })) === undefined
        ? true
        : undefined,
    );
    assert.deepEqual(
      fn.status?.revisions?.map((r) => r.name),
      ['hello-00003'],
    );
  });

  it('reports a traffic target naming an unknown revision as Degraded, with the reason', async () => {
    await t.client.mergePatch(
      FunctionType,
      { namespace: t.ns, name: 'hello' },
      { spec: { traffic: [{ revision: 'hello-00099', percent: 100 }] } },
    );
    const fn = await eventually('Degraded condition', async () => {
      const f = await get('hello');
      return getCondition(f?.status?.conditions, 'Degraded')?.status === 'True' && f;
    });
    assert.match(fn.status?.lastError ?? '', /spec\.traffic\[0\]: revision "hello-00099" does not exist/);
    assert.equal(getCondition(fn.status?.conditions, 'Ready')?.reason, 'InvalidSpec');
    assert.equal(getCondition(fn.status?.conditions, 'Ready')?.status, 'False');
  });

  it('renders a Go function with a build init container and the Go runtime image', async () => {
    await t.client.create(
      FunctionType,
      fnObject('gofn', { runtime: 'go', source: { configMap: { name: 'gofn-code' } } }),
    );
    await readyAt('gofn', 1);
    const pod = (await deployment('gofn-00001'))?.spec.template.spec;
    assert.deepEqual(
      pod?.initContainers?.map((c) => [c.name, c.image]),
      [['build', config.builderImages.go]],
    );
    assert.equal(pod?.containers[0]?.image, config.runtimeImages.go);
  });

  it('refuses an invalid Function with a message naming the bad field', async () => {
    await assert.rejects(
      t.client.create(
        FunctionType,
        fnObject('bad', { runtime: 'ruby', source: { inline: 'x' }, scaling: { minReplicas: 5, maxReplicas: 2 } }),
      ),
      (e: unknown) => {
        assert.ok(e instanceof KubeApiError && e.statusCode === 422);
        assert.match(
          e.message,
          /spec\.runtime: Unsupported value: "ruby": supported values: "node", "python", "go", "java"/,
        );
        return true;
      },
    );
    await assert.rejects(
      t.client.create(
        FunctionType,
        fnObject('bad', { runtime: 'node', source: { inline: 'x' }, scaling: { minReplicas: 5, maxReplicas: 2 } }),
      ),
      /spec\.scaling: Invalid value: scaling\.minReplicas must not exceed scaling\.maxReplicas/,
    );
  });

  it('refuses, at the API server, names and images the operator cannot use, and leaves nothing behind', async () => {
    const refused = async (name: string, spec: Record<string, unknown>, field: RegExp) =>
      assert.rejects(t.client.create(FunctionType, fnObject(name, spec)), (e: unknown) => {
        assert.ok(e instanceof KubeApiError && e.statusCode === 422, String(e));
        assert.match(e.message, field);
        return true;
      });
    const image = { image: 'registry.example.com/team/app:1.4' };
    // A dot: the Deployment a.b-00001 would be valid, its Service not.
    await refused('a.b', image, /metadata\.name: Invalid value: .*must be a DNS-1035 label.*\(no dots\)/);
    await refused('9lives', image, /metadata\.name: Invalid value: .*must be a DNS-1035 label/);
    // 51 characters: <name>-00001-source and the Service name's label would not fit.
    const long = `f${'x'.repeat(50)}`;
    await refused(long, image, /metadata\.name: Invalid value: .*may have at most 50 characters/);
    await refused('spaced', { image: 'registry.example.com/team/app:1.4 --privileged' }, /spec\.image: Invalid value/);
    await refused(
      'spaced',
      { image: 'nginx bad' },
      /spec\.image: Invalid value: "nginx bad": must be an image reference/,
    );

    // The operator is running (a valid Function next to them gets its Deployment), and none of
    // the refused ones left anything: no Function stored, no Deployment, no Service.
    await t.client.create(FunctionType, fnObject('f'.repeat(50), image));
    await eventually('the valid Function’s Deployment', () => deployment(`${'f'.repeat(50)}-00001`), 30_000);
    const fns = await t.client.list<FunctionObject & KubeObject>(FunctionType, { namespace: t.ns });
    const deployments = await t.client.list(Resources.Deployment, { namespace: t.ns });
    const services = await t.client.list(Resources.Service, { namespace: t.ns });
    for (const bad of ['a.b', '9lives', long, 'spaced']) {
      assert.ok(!fns.items.some((f) => f.metadata.name === bad), `Function ${bad} was stored`);
      for (const list of [deployments, services]) {
        assert.ok(!list.items.some((o) => o.metadata?.name?.startsWith(`${bad}-`)), `${bad}: a child was left`);
      }
    }
    await t.client.delete(FunctionType, { namespace: t.ns, name: 'f'.repeat(50) });
  });

  it('removes everything it created when the Function is deleted', async () => {
    await t.client.delete(FunctionType, { namespace: t.ns, name: 'hello' });
    await eventually(
      'children garbage-collected',
      async () => {
        const left = await Promise.all([
          t.client.list(Resources.Deployment, { namespace: t.ns, labelSelector: 'plinth.dev/function=hello' }),
          t.client.list(Resources.Service, { namespace: t.ns, labelSelector: 'plinth.dev/function=hello' }),
          t.client.list(Resources.ConfigMap, { namespace: t.ns, labelSelector: 'plinth.dev/function=hello' }),
          t.client.list(Resources.ServiceAccount, { namespace: t.ns, labelSelector: 'plinth.dev/function=hello' }),
        ]);
        return left.every((l) => l.items.length === 0);
      },
      60_000,
    );
    // The other function's children are untouched.
    assert.ok(await deployment('gofn-00001'));
  });
});

// Plinth as a user runs it: its images, built here and pushed to the ground's registry, installed
// with `plinth up` (Plinth's own part only: no Flux parts), the operator and the gateway running
// as pods on the ground's real node under their own ServiceAccounts, and a Function applied the
// way the README says (its code in a ConfigMap) waking from zero on the real node and answering
// through the gateway pod. Nothing here runs the operator or the gateway in process or as admin:
// the admin kubeconfig only installs, like a cluster administrator running `plinth up`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FunctionKind, type PlinthImage, TenantKind } from '@plinth/api';
import { eventually, ground, plinthOnlyConfig, requireGround, uniqueName } from '@plinth/ground';
import { KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { push } from '@plinth/oci';
import { parse } from 'yaml';
import { buildImages } from '../../images/build.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const cli = join(ROOT, 'apps', 'cli', 'src', 'main.ts');
const IMAGES: PlinthImage[] = [
  'operator',
  'gateway',
  'runtime-node',
  'runtime-python',
  'runtime-go',
  'runtime-java',
  'builder-go',
  'builder-java',
];
const EXAMPLES = ['01-hello-node', '02-hello-python', '03-hello-go', '04-hello-java'];
const tag = `e2e-${Date.now().toString(36)}`;
let admin: KubeClient;
let config: string;
let ns: string;
const exec = promisify(execFile);

async function plinth(...args: string[]): Promise<string> {
  const { stdout, stderr } = await exec(process.execPath, [cli, ...args], {
    env: { ...process.env, KUBECONFIG: ground('KUBECONFIG') },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout + stderr;
}

/** The gateway Service's in-cluster address (this machine routes to the Service network). */
async function gatewayURL(): Promise<string> {
  const svc = await admin.get<KubeObject & { spec: { clusterIP: string } }>(Resources.Service, {
    namespace: 'plinth-system',
    name: 'plinth-gateway',
  });
  return `http://${svc?.spec.clusterIP}:443`;
}

/** What a failure needs: the pods of a namespace, their events and their logs. */
async function podReport(namespace: string): Promise<string> {
  const run = (args: string[]) =>
    exec('kubectl', args, { env: { ...process.env, KUBECONFIG: ground('KUBECONFIG') } }).then(
      (r) => r.stdout,
      (e: Error) => e.message,
    );
  return [
    await run(['get', 'pods', '-o', 'wide', '-n', namespace]),
    await run(['get', 'events', '--sort-by=.lastTimestamp', '-n', namespace]),
    await run(['logs', '-n', namespace, '--all-containers', '--tail=40', '-l', 'app.kubernetes.io/part-of=plinth']),
  ].join('\n');
}

before(async () => {
  await requireGround('kubernetes', 'registry', 'node');
  admin = KubeClient.load(ground('KUBECONFIG'));
  const registry = ground('REGISTRY');
  const ca = readFileSync(ground('REGISTRY_CA_FILE'), 'utf8');
  for (const b of await buildImages(IMAGES, tag)) await push({ host: registry, ca }, `plinth/${b.name}`, tag, b.image);
  const [key, value] = ground('NODE_LABEL').split('=');
  config = plinthOnlyConfig({
    images: { registry: `${registry}/plinth`, tag },
    placement: {
      nodeSelector: { [key ?? '']: value ?? '' },
      tolerations: [{ key, operator: 'Exists', effect: 'NoSchedule' }],
    },
  });
  ns = uniqueName('e2e');
  await admin.create(Resources.Namespace, { metadata: { name: ns } });
});

after(async () => {
  // Functions carry finalizers the operator removes: delete them while it runs.
  await admin?.delete(Resources.Namespace, { name: ns }).catch(() => {});
  await eventually(
    'the test namespace gone',
    async () => ((await admin.get(Resources.Namespace, { name: ns })) ? undefined : true),
    120_000,
  ).catch(() => {});
  if (config) await plinth('down').catch(() => {});
  // Later suites install the CRDs again; let these finish going first.
  await eventually(
    'Plinth CRDs deleted',
    async () =>
      (await admin.get(Resources.CustomResourceDefinition, { name: 'functions.plinth.dev' })) ? undefined : true,
    120_000,
  );
});

describe('the platform in pods', () => {
  it('plinth up runs the operator and the gateway from their images on the real node', async () => {
    const out = await plinth('up', '-c', config);
    assert.match(out, /plinth/);
    for (const name of ['plinth-operator', 'plinth-gateway']) {
      const d = await eventually(
        `${name} available`,
        async () => {
          const dep = await admin.get<KubeObject & { status?: { availableReplicas?: number } }>(Resources.Deployment, {
            namespace: 'plinth-system',
            name,
          });
          return (dep?.status?.availableReplicas ?? 0) >= 1 && dep;
        },
        180_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport('plinth-system')}`);
      });
      assert.ok(d);
    }
    const pods = await admin.list<KubeObject & { spec: { nodeName?: string; serviceAccountName?: string } }>(
      Resources.Pod,
      { namespace: 'plinth-system' },
    );
    for (const p of pods.items) {
      assert.equal(p.spec.nodeName, ground('NODE_NAME'), `${p.metadata?.name} runs on the real node`);
      assert.match(p.spec.serviceAccountName ?? '', /^plinth-(operator|gateway)$/, 'under its own ServiceAccount');
    }
  });

  it('the four examples, applied as the README says, wake from zero on the real node and answer through the gateway pod', async () => {
    const svc = await admin.get<KubeObject & { spec: { clusterIP: string } }>(Resources.Service, {
      namespace: 'plinth-system',
      name: 'plinth-gateway',
    });
    const started = Date.now();
    const names: string[] = [];
    for (const example of EXAMPLES) {
      // kubectl create configmap <name> --from-file=examples/<example>, then kubectl apply -f function.yaml
      const dir = join(ROOT, 'examples', example);
      const fn = parse(readFileSync(join(dir, 'function.yaml'), 'utf8')) as KubeObject;
      const name = fn.metadata?.name ?? '';
      names.push(name);
      await admin.create(Resources.ConfigMap, {
        metadata: { name, namespace: ns },
        data: Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')])),
      } as KubeObject);
      await admin.create(resourceOf(FunctionKind), { ...fn, metadata: { ...fn.metadata, namespace: ns } });
    }
    for (const name of names) {
      const body = await eventually(
        `${name} answering through the gateway`,
        async () => {
          const r = await fetch(`http://${svc?.spec.clusterIP}:443/fn/${ns}/${name}?name=Ada`, {
            signal: AbortSignal.timeout(60_000),
          });
          return r.status === 200 && ((await r.json()) as { message?: string; runtime?: string });
        },
        300_000,
        1_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(ns)}\n${await podReport('plinth-system')}`);
      });
      assert.equal(body.message, 'Hello, Ada', name);
      process.stdout.write(`# ${name}: first answer ${Date.now() - started} ms after the four were applied\n`);
    }
    const pods = await admin.list<KubeObject & { spec: { nodeName?: string } }>(Resources.Pod, { namespace: ns });
    assert.ok(pods.items.length >= names.length);
    for (const p of pods.items)
      assert.equal(p.spec.nodeName, ground('NODE_NAME'), `${p.metadata?.name} on the real node`);
  });

  it('a canary split sends each revision its share', async () => {
    // hello-node-00001 greets with "Hello"; a new env makes hello-node-00002, which gets half.
    const fnType = resourceOf(FunctionKind);
    await admin.mergePatch(
      fnType,
      { namespace: ns, name: 'hello-node' },
      {
        spec: {
          env: [{ name: 'GREETING', value: 'Hi' }],
          scaling: { minReplicas: 1, scaleToZeroAfterSeconds: 120 },
          traffic: [
            { revision: 'hello-node-00001', percent: 50 },
            { latestRevision: true, percent: 50, tag: 'canary' },
          ],
        },
      },
    );
    await eventually(
      'both revisions ready and in the resolved traffic',
      async () => {
        const f = await admin.get<KubeObject & { status?: { traffic?: { revision: string; percent: number }[] } }>(
          fnType,
          { namespace: ns, name: 'hello-node' },
        );
        const t = f?.status?.traffic ?? [];
        return t.length === 2 && t.every((x) => x.percent === 50) && t;
      },
      120_000,
    );
    const svc = await admin.get<KubeObject & { spec: { clusterIP: string } }>(Resources.Service, {
      namespace: 'plinth-system',
      name: 'plinth-gateway',
    });
    const base = `http://${svc?.spec.clusterIP}:443/fn/${ns}/hello-node`;
    // The canary answers at its tag first, so both revisions are awake before counting.
    await eventually(
      'the canary answering at @canary',
      async () => {
        const r = await fetch(`${base}/@canary?name=Ada`, { signal: AbortSignal.timeout(60_000) });
        return r.status === 200 && ((await r.json()) as { message?: string }).message === 'Hi, Ada';
      },
      120_000,
      1_000,
    );
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${base}?name=Ada`, { signal: AbortSignal.timeout(60_000) });
      assert.equal(r.status, 200);
      const m = ((await r.json()) as { message?: string }).message ?? '';
      counts.set(m, (counts.get(m) ?? 0) + 1);
    }
    process.stdout.write(`# canary split over 200 requests: ${JSON.stringify(Object.fromEntries(counts))}\n`);
    const old = counts.get('Hello, Ada') ?? 0;
    const canary = counts.get('Hi, Ada') ?? 0;
    assert.equal(old + canary, 200, 'every answer came from one of the two revisions');
    // 50/50 over 200 requests: outside 70..130 would be a 1-in-20,000 accident of a fair split.
    assert.ok(old >= 70 && old <= 130, `the old revision got ${old} of 200`);
  });

  it('an edit rolls out a new revision with zero failed requests', async () => {
    const fnType = resourceOf(FunctionKind);
    const base = `${await gatewayURL()}/fn/${ns}/hello-python`;
    const failures: string[] = [];
    const seen = new Map<string, number>();
    let stop = false;
    // Four clients, GETs and small POSTs, for the whole rollout and until the old pods are gone.
    const client = async () => {
      for (let i = 0; !stop; i++) {
        const post = i % 2 === 1;
        try {
          const r = await fetch(post ? base : `${base}?name=Ada`, {
            method: post ? 'POST' : 'GET',
            ...(post ? { body: JSON.stringify({ i }), headers: { 'content-type': 'application/json' } } : {}),
            signal: AbortSignal.timeout(30_000),
          });
          const body = (await r.json()) as { message?: string; echo?: unknown; error?: string };
          if (r.status !== 200) failures.push(`${r.status} ${body.error ?? ''}`);
          else if (!post) seen.set(body.message ?? '', (seen.get(body.message ?? '') ?? 0) + 1);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    try {
      await eventually('requests flowing', async () => (seen.get('Hello, Ada') ?? 0) > 20, 60_000);
      await admin.mergePatch(
        fnType,
        { namespace: ns, name: 'hello-python' },
        { spec: { env: [{ name: 'GREETING', value: 'Howdy' }] } },
      );
      const started = Date.now();
      await eventually(
        'hello-python-00002 serving all traffic and the old revision scaled to zero with its pods gone',
        async () => {
          const f = await admin.get<KubeObject & { status?: { traffic?: { revision: string; percent: number }[] } }>(
            fnType,
            { namespace: ns, name: 'hello-python' },
          );
          const t = f?.status?.traffic ?? [];
          if (t.length !== 1 || t[0]?.revision !== 'hello-python-00002') return false;
          const old = await admin.list(Resources.Pod, {
            namespace: ns,
            labelSelector: 'plinth.dev/revision=hello-python-00001',
          });
          return old.items.length === 0;
        },
        180_000,
        500,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(ns)}`);
      });
      process.stdout.write(
        `# rollout: new revision serving and old pods gone ${Date.now() - started} ms after the edit\n`,
      );
      // A little longer on the new revision alone.
      const howdy = seen.get('Howdy, Ada') ?? 0;
      await eventually(
        'more answers from the new revision',
        async () => (seen.get('Howdy, Ada') ?? 0) > howdy + 20,
        30_000,
      );
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    process.stdout.write(
      `# rollout: GET answers ${JSON.stringify(Object.fromEntries(seen))}, failures ${failures.length}\n`,
    );
    assert.deepEqual(failures, [], 'no request failed during the rollout');
    assert.ok((seen.get('Hello, Ada') ?? 0) > 20 && (seen.get('Howdy, Ada') ?? 0) > 20);
  });

  it('scales to zero when idle and wakes from zero on the real node, measured', async () => {
    const fnType = resourceOf(FunctionKind);
    const base = `${await gatewayURL()}/fn/${ns}/hello-python?name=Ada`;
    await admin.mergePatch(
      fnType,
      { namespace: ns, name: 'hello-python' },
      { spec: { scaling: { scaleToZeroAfterSeconds: 3 } } },
    );
    const wakes: number[] = [];
    const idles: number[] = [];
    for (let round = 0; round < 3; round++) {
      const idleSince = Date.now();
      await eventually(
        'hello-python at zero replicas, its pods gone',
        async () => {
          const pods = await admin.list(Resources.Pod, {
            namespace: ns,
            labelSelector: 'plinth.dev/function=hello-python',
          });
          return pods.items.length === 0;
        },
        120_000,
        250,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(ns)}`);
      });
      idles.push(Date.now() - idleSince);
      const t0 = performance.now();
      const r = await fetch(base, { signal: AbortSignal.timeout(60_000) });
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { message?: string }).message, 'Howdy, Ada');
      wakes.push(Math.round(performance.now() - t0));
    }
    process.stdout.write(
      `# scale to zero: idle to no pods ${idles.join(', ')} ms (scaleToZeroAfterSeconds 3, then the preStop delay and the drain)\n`,
    );
    process.stdout.write(`# wake from zero through the gateway pod: ${wakes.join(', ')} ms\n`);
    assert.equal(wakes.length, 3);
  });

  it("a tenant's developer deploys a Function in the tenant's namespace, and is refused in another", async () => {
    const tenant = uniqueName('e2e-t');
    const home = `${tenant}-apps`;
    await admin.create(resourceOf(TenantKind), {
      apiVersion: TenantKind.apiVersion,
      kind: TenantKind.kind,
      metadata: { name: tenant },
      spec: { namespaces: [home], access: { developers: ['e2e-developers'] } },
    } as KubeObject);
    try {
      await eventually(
        `Tenant ${tenant} reconciled by the operator pod`,
        async () => {
          const t = await admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
            resourceOf(TenantKind),
            { name: tenant },
          );
          return t?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        },
        60_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport('plinth-system')}`);
      });
      // A directory user of the developers group, as the API server sees them (OIDC prefix).
      const dev = admin.impersonate('oidc:dana@plinth.test', ['oidc:e2e-developers']);
      const fn = (namespace: string) =>
        dev.create(resourceOf(FunctionKind), {
          apiVersion: FunctionKind.apiVersion,
          kind: FunctionKind.kind,
          metadata: { name: 'greet', namespace },
          spec: { runtime: 'node', source: { inline: "export default () => ({ message: 'Hello from the tenant' })" } },
        } as KubeObject);
      await fn(home);
      await assert.rejects(fn(ns), /forbidden/i, 'the developer is refused outside the tenant');
      const svc = await admin.get<KubeObject & { spec: { clusterIP: string } }>(Resources.Service, {
        namespace: 'plinth-system',
        name: 'plinth-gateway',
      });
      const body = await eventually(
        "the tenant's Function answering through the gateway",
        async () => {
          const r = await fetch(`http://${svc?.spec.clusterIP}:443/fn/${home}/greet`, {
            signal: AbortSignal.timeout(60_000),
          });
          return r.status === 200 && ((await r.json()) as { message?: string });
        },
        120_000,
        1_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(home)}`);
      });
      assert.equal(body.message, 'Hello from the tenant');
    } finally {
      // The Tenant's finalizer deletes its namespace (and the Function, whose finalizer the operator runs).
      await admin.delete(resourceOf(TenantKind), { name: tenant });
      await eventually(
        'the Tenant gone',
        async () => !(await admin.get(resourceOf(TenantKind), { name: tenant })),
        120_000,
      );
    }
  });
});

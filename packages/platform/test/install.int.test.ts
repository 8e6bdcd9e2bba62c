// The installer against the ground's real API server: every built-in object `plinth render`
// makes (dev and prod) passes the API server's server-side dry-run; `plinth up` refuses, before
// touching anything, components that need Flux when the cluster has none; it installs Plinth's
// own part (CRDs, roles, operator, gateway) with progress, converges on a second run and
// removes what the config dropped; `plinth status` reports it; `plinth down` leaves no Plinth
// object behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eventually, ground, plinthOnlyConfig, requireGround } from '@plinth/ground';
import { KubeClient, type KubeObject, Resources } from '@plinth/kube';
import { Discovery, loadConfig, render } from '@plinth/platform';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const cli = join(ROOT, 'apps', 'cli', 'src', 'main.ts');
let admin: KubeClient;
const madeNamespaces: string[] = [];

async function plinth(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
      env: { ...process.env, KUBECONFIG: ground('KUBECONFIG') },
    });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

const inventory = async () => {
  const cm = await admin.get<KubeObject & { data?: Record<string, string> }>(Resources.ConfigMap, {
    namespace: 'kube-system',
    name: 'plinth-install',
  });
  return cm?.data?.objects
    ? (JSON.parse(cm.data.objects) as { apiVersion: string; kind: string; namespace?: string; name: string }[])
    : undefined;
};

before(async () => {
  await requireGround('kubernetes');
  admin = KubeClient.load(ground('KUBECONFIG'));
});

after(async () => {
  for (const name of madeNamespaces) await admin?.delete(Resources.Namespace, { name });
  // Later suites install the CRDs again; let these finish going first.
  await eventually(
    'Plinth CRDs deleted',
    async () =>
      (await admin.get(Resources.CustomResourceDefinition, { name: 'functions.plinth.dev' })) ? undefined : true,
    60_000,
  );
});

describe('plinth render output on a real API server', () => {
  it('passes server-side dry-run for every built-in object, dev and prod', async (t) => {
    const discovery = new Discovery(admin);
    const builtin =
      /^(v1|apps\/v1|policy\/v1|rbac\.authorization\.k8s\.io\/v1|networking\.k8s\.io\/v1|storage\.k8s\.io\/v1|apiextensions\.k8s\.io\/v1)$/;
    let checked = 0;
    for (const profile of ['dev', 'prod']) {
      const objects = render(await loadConfig(join(ROOT, 'platform', `${profile}.yaml`))).flatMap((r) => [
        ...r.release,
        ...r.config,
      ]);
      // Namespaced objects can only be dry-run into namespaces that exist.
      for (const ns of new Set(objects.map((o) => o.metadata?.namespace).filter((n): n is string => !!n))) {
        if (!(await admin.get(Resources.Namespace, { name: ns }))) {
          await admin.create(Resources.Namespace, { metadata: { name: ns } });
          madeNamespaces.push(ns);
        }
      }
      for (const o of objects.filter((x) => builtin.test(x.apiVersion ?? ''))) {
        const type = await discovery.type(o.apiVersion ?? '', o.kind ?? '');
        assert.ok(type, `${o.apiVersion} ${o.kind} is served`);
        await assert.doesNotReject(
          admin.apply(type, o, { fieldManager: 'plinth-dry-run', dryRun: true }),
          `${profile}: ${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`,
        );
        checked++;
      }
    }
    assert.ok(checked > 60, `checked ${checked} objects`);
    t.diagnostic(`dry-run accepted ${checked} built-in objects`);
    for (const name of madeNamespaces.splice(0)) await admin.delete(Resources.Namespace, { name });
  });
});

describe('plinth up / status / down', () => {
  it('refuses components that need Flux before touching the cluster', async () => {
    const r = await plinth('up', '-c', join(ROOT, 'platform', 'dev.yaml'));
    assert.equal(r.code, 1);
    assert.match(r.out, /cert-manager, trust-manager, .* install through Flux, which this cluster does not run/);
    assert.equal(await inventory(), undefined, 'nothing was installed');
  });

  it('fails on a bad config before anything else, naming the field', async () => {
    const file = join(tmpdir(), 'plinth-bad.yaml');
    writeFileSync(file, 'profile: prod\ncomponents: { kafka: { replica: 3 } }\n');
    const r = await plinth('up', '-c', file);
    assert.equal(r.code, 2);
    assert.match(r.out, /components\.kafka\.replica: unknown field/);
  });

  it("installs Plinth's own part with progress, converges on a second run, and prunes what the config drops", async () => {
    const first = await plinth('up', '-c', plinthOnlyConfig({ platformAdminGroups: ['platform-admins'] }));
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /\[1\/1\] plinth: applying 30 object\(s\)/);
    assert.match(first.out, /\[1\/1\] plinth: ready in [\d.]+ s/);
    assert.match(first.out, /Plinth is up \(dev\): 1 component\(s\)/);
    for (const name of ['functions.plinth.dev', 'tenants.plinth.dev', 'graphqlapis.plinth.dev']) {
      assert.ok(await admin.get(Resources.CustomResourceDefinition, { name }), `${name} installed`);
    }
    assert.ok(await admin.get(Resources.ClusterRoleBinding, { name: 'plinth:platform-admins' }));
    const versions = async () =>
      Promise.all(
        ['plinth-operator', 'plinth-gateway'].map(
          async (name) =>
            (await admin.get(Resources.Deployment, { namespace: 'plinth-system', name }))?.metadata?.resourceVersion,
        ),
      );
    const before = await versions();

    const again = await plinth('up', '-c', plinthOnlyConfig({ platformAdminGroups: ['platform-admins'] }));
    assert.equal(again.code, 0, again.out);
    assert.doesNotMatch(again.out, /waiting/);
    assert.deepEqual(await versions(), before, 'a second run changes nothing');

    const dropped = await plinth('up', '-c', plinthOnlyConfig());
    assert.equal(dropped.code, 0, dropped.out);
    assert.match(dropped.out, /removing 1 object\(s\) no longer in the config/);
    assert.equal(await admin.get(Resources.ClusterRoleBinding, { name: 'plinth:platform-admins' }), undefined);

    const status = await plinth('status', '-c', plinthOnlyConfig());
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, /^plinth +healthy/m);
    assert.match(status.out, /^Tenant +(\d+\/\d+ ready|unavailable: )/m);
  });

  it('down leaves no Plinth object behind but a namespace that holds volume claims', async () => {
    const installed = (await inventory()) ?? [];
    assert.equal(installed.length, 29);
    // A Plinth resource still in the cluster: down will not strand it by deleting its CRD.
    const ns = `down-${Math.random().toString(36).slice(2, 7)}`;
    await admin.create(Resources.Namespace, { metadata: { name: ns } });
    madeNamespaces.push(ns);
    const fn = { group: 'plinth.dev', version: 'v1alpha1', kind: 'Function', plural: 'functions', namespaced: true };
    await eventually('the Function CRD serves', () =>
      admin
        .create(fn, {
          apiVersion: 'plinth.dev/v1alpha1',
          kind: 'Function',
          metadata: { name: 'left-over', namespace: ns },
          spec: { runtime: 'node', source: { configMap: { name: 'left-over' } } },
        } as KubeObject)
        .catch(() => undefined),
    );
    // A volume claim in Plinth's namespace: down keeps the namespace (and the claim) by default.
    const pvc = {
      group: '',
      version: 'v1',
      kind: 'PersistentVolumeClaim',
      plural: 'persistentvolumeclaims',
      namespaced: true,
    };
    await admin.create(pvc, {
      metadata: { name: 'data', namespace: 'plinth-system' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    } as KubeObject);
    const refused = await plinth('down');
    assert.equal(refused.code, 1);
    assert.match(
      refused.out,
      /the cluster still has 1 Function\(s\): delete them first, or run down with --delete-resources/,
    );
    const r = await plinth('down', '--delete-resources');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /deleting 1 Function\(s\) while the operator still runs/);
    assert.match(r.out, /keeping namespace plinth-system: it holds 1 persistent volume claim\(s\)/);
    assert.match(r.out, /removed 28 object\(s\)/);
    const discovery = new Discovery(admin);
    const left: string[] = [];
    for (const ref of installed) {
      const type = await discovery.type(ref.apiVersion, ref.kind);
      const obj = type && (await admin.get(type, { namespace: ref.namespace, name: ref.name }));
      if (obj && !obj.metadata?.deletionTimestamp) left.push(`${ref.kind} ${ref.namespace ?? ''}/${ref.name}`);
    }
    assert.deepEqual(left, ['Namespace /plinth-system'], 'only the namespace holding the claim stays');
    assert.ok(await admin.get(pvc, { namespace: 'plinth-system', name: 'data' }), 'and the claim with it');
    assert.equal(await inventory(), undefined);
    madeNamespaces.push('plinth-system');
  });
});

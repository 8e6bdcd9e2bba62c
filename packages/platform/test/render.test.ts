// `plinth render` for the dev and prod profiles: byte-for-byte golden files (set
// UPDATE_GOLDEN=1 to rewrite them after an intended change), the same bytes on every run, and
// every object of an upstream kind valid against that project's published schema
// (@kubernetes-models). Built-in kinds are checked by the real API server in render.int.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { kustomizations, loadConfig, render, renderFiles } from '@plinth/platform';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const GOLDEN = join(import.meta.dirname, 'golden');

function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  try {
    walk(dir);
  } catch {}
  return out;
}

/** The @kubernetes-models package that publishes each upstream API group's schemas. */
const MODELS: Record<string, string> = {
  'helm.toolkit.fluxcd.io': 'flux-cd',
  'source.toolkit.fluxcd.io': 'flux-cd',
  'kustomize.toolkit.fluxcd.io': 'flux-cd',
  'cert-manager.io': 'cert-manager',
  'trust.cert-manager.io': 'cert-manager',
  'gateway.networking.k8s.io': 'gateway-api',
  'postgresql.cnpg.io': 'cloudnative-pg',
};
/** Groups with no published schema package; named so a new group cannot slip by unvalidated. */
const UNVALIDATED = new Set(['kafka.strimzi.io']);
const BUILTIN =
  /^(v1|apps\/v1|policy\/v1|rbac\.authorization\.k8s\.io\/v1|networking\.k8s\.io\/v1|storage\.k8s\.io\/v1|apiextensions\.k8s\.io\/v1)$/;

for (const profile of ['dev', 'prod'] as const) {
  describe(`plinth render, ${profile} profile`, () => {
    it('matches the golden directory, byte for byte, every time', async () => {
      const config = await loadConfig(join(ROOT, 'platform', `${profile}.yaml`));
      const files = renderFiles(config);
      assert.deepEqual(renderFiles(config), files, 'the same config renders the same bytes');
      const dir = join(GOLDEN, profile);
      if (process.env.UPDATE_GOLDEN) {
        rmSync(dir, { recursive: true, force: true });
        for (const [p, text] of files) {
          mkdirSync(dirname(join(dir, p)), { recursive: true });
          writeFileSync(join(dir, p), text);
        }
      }
      assert.deepEqual(readTree(dir), files);
    });

    it('renders only objects valid against their upstream schemas', async () => {
      const config = await loadConfig(join(ROOT, 'platform', `${profile}.yaml`));
      const seen = new Map<string, number>();
      const rendered = render(config);
      const flux = { component: { name: 'flux-system' }, release: kustomizations(rendered, './platform'), config: [] };
      for (const r of [...rendered, flux]) {
        for (const obj of [...r.release, ...r.config]) {
          const apiVersion = obj.apiVersion ?? '';
          if (BUILTIN.test(apiVersion)) continue;
          const [group = '', version = ''] = apiVersion.split('/');
          if (UNVALIDATED.has(group)) continue;
          const pkg = MODELS[group];
          assert.ok(pkg, `${r.component.name}: no schema package for ${apiVersion} ${obj.kind}`);
          const models = (await import(`@kubernetes-models/${pkg}/${group}/${version}`)) as Record<
            string,
            new (
              o: unknown,
            ) => { validate(): void }
          >;
          const Model = models[obj.kind ?? ''];
          assert.ok(Model, `${pkg} has no ${apiVersion} ${obj.kind}`);
          assert.doesNotThrow(
            () => new Model(obj).validate(),
            `${r.component.name}: ${obj.kind} ${obj.metadata?.name}`,
          );
          seen.set(`${apiVersion}/${obj.kind}`, (seen.get(`${apiVersion}/${obj.kind}`) ?? 0) + 1);
        }
      }
      assert.ok((seen.get('helm.toolkit.fluxcd.io/v2/HelmRelease') ?? 0) >= 8, 'HelmReleases were validated');
      assert.ok(seen.has('cert-manager.io/v1/ClusterIssuer'));
      assert.ok(seen.has('kustomize.toolkit.fluxcd.io/v1/Kustomization'));
    });
  });
}

describe('install order', () => {
  it('puts each component after what it depends on, and flux Kustomizations follow the same graph', async () => {
    const config = await loadConfig(join(ROOT, 'platform', 'prod.yaml'));
    const rendered = render(config);
    const position = new Map(rendered.map((r, i) => [r.component.name, i]));
    for (const r of rendered) {
      for (const d of r.dependsOn)
        assert.ok((position.get(d) ?? 99) < (position.get(r.component.name) ?? 0), `${d} before ${r.component.name}`);
    }
    assert.deepEqual(rendered.find((r) => r.component.name === 'strimzi')?.dependsOn, [
      'cert-manager',
      'csi-driver-nfs',
    ]);
  });
});

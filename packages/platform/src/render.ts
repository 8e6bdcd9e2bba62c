// Rendering (pure): the enabled components in dependency order, each as the objects that
// install it (a Namespace and a Flux HelmRelease of its pinned chart, or Plinth's own
// manifests) and the objects that configure it once its CRDs exist. As files, a GitOps-ready
// directory for the repository `flux bootstrap` made: one Flux Kustomization per component,
// each depending on the components it needs, so Flux owns the install order. Same config,
// same bytes.
import { MANAGED_BY } from '@plinth/api';
import type { KubeObject } from '@plinth/kube';
import { HELM_RELEASE } from '@plinth/tenancy';
import { stringify } from 'yaml';
import { type Component, catalog } from './catalog/index.ts';
import type { PlatformConfig } from './config.ts';

export interface RenderedComponent {
  component: Component;
  /** `NN-name`, the component's directory. */
  dir: string;
  /** Objects that install it. */
  release: KubeObject[];
  /** Objects that need it installed first (its CRDs, its webhooks). */
  config: KubeObject[];
  /** Enabled components it waits for. */
  dependsOn: string[];
}

export const FLUX_NAMESPACE = 'flux-system';
export { HELM_RELEASE };
export const HELM_RELEASE_API = `${HELM_RELEASE.group}/${HELM_RELEASE.version}`;
const FLUX_INTERVAL = '30m';
const LABELS = { ...MANAGED_BY, 'app.kubernetes.io/part-of': 'plinth-platform' };

/** Enabled components, each after everything it depends on (catalog order otherwise). */
export function plan(c: PlatformConfig): Component[] {
  const enabled = catalog.filter((k) => c.enabled[k.enabledBy] && (k.when?.(c) ?? true));
  const names = new Set(enabled.map((k) => k.name));
  const done = new Set<string>();
  const ordered: Component[] = [];
  while (ordered.length < enabled.length) {
    const next = enabled.find((k) => !done.has(k.name) && k.dependsOn.every((d) => done.has(d) || !names.has(d)));
    if (!next) {
      const stuck = enabled.filter((k) => !done.has(k.name)).map((k) => k.name);
      throw new Error(`catalog: dependency cycle among ${stuck.join(', ')}`);
    }
    done.add(next.name);
    ordered.push(next);
  }
  return ordered;
}

function helmObjects(k: Component, c: PlatformConfig, dependsOn: string[]): KubeObject[] {
  const helm = k.helm;
  if (!helm) return [];
  const oci = helm.repository.startsWith('oci://');
  const source = {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'HelmRepository',
    metadata: { name: k.name, namespace: FLUX_NAMESPACE, labels: LABELS },
    spec: { url: helm.repository, interval: '1h', ...(oci ? { type: 'oci' } : {}) },
  };
  if (k.sourceOnly) return [source as KubeObject];
  const namespace =
    k.namespace === 'kube-system' || k.namespace === FLUX_NAMESPACE
      ? []
      : [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: k.namespace, labels: LABELS } }];
  const release = {
    apiVersion: HELM_RELEASE_API,
    kind: 'HelmRelease',
    metadata: { name: k.name, namespace: FLUX_NAMESPACE, labels: LABELS },
    spec: {
      releaseName: k.name,
      targetNamespace: k.namespace,
      interval: FLUX_INTERVAL,
      timeout: '10m',
      chart: {
        spec: {
          chart: helm.chart,
          version: helm.version,
          sourceRef: { kind: 'HelmRepository', name: k.name, namespace: FLUX_NAMESPACE },
          interval: '1h',
        },
      },
      install: { crds: 'CreateReplace', remediation: { retries: 3 } },
      upgrade: { crds: 'CreateReplace', remediation: { retries: 3 } },
      ...(dependsOn.length
        ? { dependsOn: dependsOn.filter((d) => catalog.find((x) => x.name === d)?.helm).map((name) => ({ name })) }
        : {}),
      values: helm.values(c),
    },
  };
  return [...namespace, source, release] as KubeObject[];
}

export function render(c: PlatformConfig): RenderedComponent[] {
  const ordered = plan(c);
  const enabled = new Set(ordered.map((k) => k.name));
  return ordered.map((k, i) => {
    const dependsOn = k.dependsOn.filter((d) => enabled.has(d));
    return {
      component: k,
      dir: `${String(i + 1).padStart(2, '0')}-${k.name}`,
      release: k.manifests ? k.manifests(c) : helmObjects(k, c, dependsOn),
      config: k.config?.(c) ?? [],
      dependsOn,
    };
  });
}

/** The Flux Kustomizations that apply each component directory in order. */
export function kustomizations(rendered: RenderedComponent[], path: string): KubeObject[] {
  const withConfig = new Set(rendered.filter((r) => r.config.length).map((r) => r.component.name));
  const ks = (name: string, dir: string, dependsOn: string[]) => ({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: `plinth-${name}`, namespace: FLUX_NAMESPACE, labels: LABELS },
    spec: {
      interval: FLUX_INTERVAL,
      path: `${path}/${dir}`,
      prune: true,
      wait: true,
      timeout: '15m',
      sourceRef: { kind: 'GitRepository', name: 'flux-system' },
      ...(dependsOn.length ? { dependsOn: dependsOn.map((d) => ({ name: `plinth-${d}` })) } : {}),
    },
  });
  const out: Record<string, unknown>[] = [];
  for (const r of rendered) {
    const name = r.component.name;
    const deps = r.dependsOn.flatMap((d) => (withConfig.has(d) ? [d, `${d}-config`] : [d]));
    out.push(ks(name, `${r.dir}/release`, deps));
    if (withConfig.has(name)) out.push(ks(`${name}-config`, `${r.dir}/config`, [name]));
  }
  return out as unknown as KubeObject[];
}

const header = (what: string, c: PlatformConfig) =>
  `# ${what}\n# Generated by \`plinth render\` (profile ${c.profile}, domain ${c.domain}). Edit the platform config, not this file.\n`;
const docs = (objects: KubeObject[]) =>
  objects.map((o) => stringify(o, { lineWidth: 0, sortMapEntries: false })).join('---\n');

/** The GitOps directory: relative path -> file text. `path` is where it lives in the Git repository. */
export function renderFiles(c: PlatformConfig, path = './platform'): Map<string, string> {
  const rendered = render(c);
  const files = new Map<string, string>();
  files.set(
    'flux-system/kustomizations.yaml',
    header('One Flux Kustomization per component; dependsOn is the install order.', c) +
      docs(kustomizations(rendered, path)),
  );
  for (const r of rendered) {
    files.set(
      `${r.dir}/release/${r.component.name}.yaml`,
      header(`${r.component.name}: ${r.component.description}`, c) + docs(r.release),
    );
    if (r.config.length) {
      files.set(
        `${r.dir}/config/${r.component.name}-config.yaml`,
        header(`${r.component.name}: configuration`, c) + docs(r.config),
      );
    }
  }
  return files;
}

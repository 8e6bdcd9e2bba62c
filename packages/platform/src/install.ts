// `plinth up / status / down` against the current kube context (the side effects; what to
// apply comes from render). up applies each component in dependency order with server-side
// apply, waits for its health checks, then applies its configuration; it records what it
// applied in an inventory ConfigMap, so a later run removes what the config no longer asks
// for and down removes exactly what up made. Persistent volume claims stay unless asked.
import { MANAGED_BY, plinthKinds } from '@plinth/api';
import type { KubeClient, KubeObject } from '@plinth/kube';
import { isNotFound, type ResourceType } from '@plinth/kube';
import type { HealthCheck } from './catalog/index.ts';
import type { PlatformConfig } from './config.ts';
import { HELM_RELEASE, HELM_RELEASE_API, render } from './render.ts';

const FIELD_MANAGER = 'plinth';
const INVENTORY = { namespace: 'kube-system', name: 'plinth-install' };

export type Progress = (line: string) => void;

export class InstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstallError';
  }
}

interface Ref {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}
const refOf = (o: KubeObject): Ref => ({
  apiVersion: o.apiVersion ?? '',
  kind: o.kind ?? '',
  ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
  name: o.metadata?.name ?? '',
});
const keyOf = (r: Ref) => `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;

/** Resource types by apiVersion and kind, from the API server's discovery (cached per client). */
export class Discovery {
  #client: KubeClient;
  #groups = new Map<string, Promise<Map<string, ResourceType>>>();
  constructor(client: KubeClient) {
    this.#client = client;
  }
  forget(apiVersion: string): void {
    this.#groups.delete(apiVersion);
  }
  async type(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    let group = this.#groups.get(apiVersion);
    if (!group) {
      group = (async () => {
        const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const map = new Map<string, ResourceType>();
        try {
          const list = await this.#client.request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
            'GET',
            path,
          );
          const [g, v] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
          for (const r of list.resources) {
            if (r.name.includes('/')) continue;
            map.set(r.kind, {
              group: g ?? '',
              version: v ?? '',
              kind: r.kind,
              plural: r.name,
              namespaced: r.namespaced,
            });
          }
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        return map;
      })();
      this.#groups.set(apiVersion, group);
      group.catch(() => this.#groups.delete(apiVersion));
    }
    return (await group).get(kind);
  }
}

async function readInventory(client: KubeClient): Promise<Ref[]> {
  const cm = await client.get<KubeObject & { data?: Record<string, string> }>(
    { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
    INVENTORY,
  );
  return cm?.data?.objects ? (JSON.parse(cm.data.objects) as Ref[]) : [];
}

async function writeInventory(client: KubeClient, refs: Ref[]): Promise<void> {
  await client.apply(
    { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { ...INVENTORY, labels: { ...MANAGED_BY } },
      data: { objects: JSON.stringify(refs) },
    } as KubeObject,
    { fieldManager: FIELD_MANAGER },
  );
}

/** Is the check healthy? A reason when not. */
async function healthOf(client: KubeClient, discovery: Discovery, h: HealthCheck): Promise<true | string> {
  const apiVersion = h.kind === 'HelmRelease' ? HELM_RELEASE_API : 'apps/v1';
  const type = await discovery.type(apiVersion, h.kind);
  if (!type) return `${apiVersion} ${h.kind} is not served (is Flux installed?)`;
  const obj = await client.get<
    KubeObject & {
      spec?: { replicas?: number };
      status?: {
        availableReplicas?: number;
        readyReplicas?: number;
        numberAvailable?: number;
        desiredNumberScheduled?: number;
        conditions?: { type: string; status: string; message?: string }[];
      };
    }
  >(type, { namespace: h.namespace, name: h.name });
  const what = `${h.kind} ${h.namespace}/${h.name}`;
  if (!obj) return `${what} does not exist yet`;
  const s = obj.status ?? {};
  switch (h.kind) {
    case 'Deployment':
    case 'StatefulSet': {
      const want = obj.spec?.replicas ?? 1;
      const have = (h.kind === 'Deployment' ? s.availableReplicas : s.readyReplicas) ?? 0;
      return have >= want ? true : `${what}: ${have}/${want} available`;
    }
    case 'DaemonSet':
      return (s.numberAvailable ?? 0) >= (s.desiredNumberScheduled ?? 1)
        ? true
        : `${what}: ${s.numberAvailable ?? 0}/${s.desiredNumberScheduled ?? '?'} available`;
    case 'HelmRelease': {
      const ready = s.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' ? true : `${what}: ${ready?.message ?? 'not reconciled yet'}`;
    }
  }
}

async function applyAll(
  client: KubeClient,
  discovery: Discovery,
  objects: KubeObject[],
  say: Progress = () => {},
): Promise<void> {
  for (const o of objects) {
    const type = await discovery.type(o.apiVersion ?? '', o.kind ?? '');
    if (!type)
      throw new InstallError(`the cluster does not serve ${o.apiVersion} ${o.kind} (needed by ${o.metadata?.name})`);
    if (o.kind === 'Namespace') await untilNotTerminating(client, type, o.metadata?.name ?? '', say);
    await client.apply(type, o, { fieldManager: FIELD_MANAGER });
    if (o.kind === 'CustomResourceDefinition') {
      const crd = o as KubeObject & { spec: { group: string; versions: { name: string }[] } };
      for (const v of crd.spec.versions) discovery.forget(`${crd.spec.group}/${v.name}`);
    }
  }
}

/** Deletes refs newest first; with keepVolumes, a namespace holding claims is kept (and said). */
/** A namespace still terminating (an earlier down) cannot take new objects: wait it out. */
async function untilNotTerminating(client: KubeClient, type: ResourceType, name: string, say: Progress): Promise<void> {
  const deadline = Date.now() + 180_000;
  let told = false;
  for (;;) {
    const ns = await client.get(type, { name });
    if (!ns?.metadata?.deletionTimestamp) return;
    if (!told) say(`waiting for namespace ${name} to finish terminating`);
    told = true;
    if (Date.now() > deadline)
      throw new InstallError(`namespace ${name} is still terminating after 3 minutes; see its status.conditions`);
    await sleep(1000);
  }
}

async function deleteRefs(
  client: KubeClient,
  discovery: Discovery,
  refs: Ref[],
  keepVolumes: boolean,
  say: Progress = () => {},
): Promise<number> {
  let n = 0;
  const pvc = await discovery.type('v1', 'PersistentVolumeClaim');
  for (const r of [...refs].reverse()) {
    if (keepVolumes && r.kind === 'Namespace' && pvc) {
      const claims = (await client.list(pvc, { namespace: r.name })).items.length;
      if (claims) {
        say(
          `keeping namespace ${r.name}: it holds ${claims} persistent volume claim(s) (down --delete-volumes removes them)`,
        );
        continue;
      }
    }
    const type = await discovery.type(r.apiVersion, r.kind);
    if (type && (await client.delete(type, { namespace: r.namespace, name: r.name }))) n++;
  }
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface UpResult {
  components: { name: string; seconds: number }[];
  urls: string[];
  credentials: string[];
  removed: number;
}

export async function up(
  client: KubeClient,
  config: PlatformConfig,
  opts: { progress?: Progress; timeoutMs?: number } = {},
): Promise<UpResult> {
  const say = opts.progress ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const discovery = new Discovery(client);
  const rendered = render(config);
  const needFlux = rendered.filter((r) => r.component.helm).map((r) => r.component.name);
  if (needFlux.length && !(await discovery.type(HELM_RELEASE_API, HELM_RELEASE.kind))) {
    throw new InstallError(
      `${needFlux.join(', ')} install through Flux, which this cluster does not run (no ${HELM_RELEASE_API} HelmRelease): install Flux first (flux install), or disable them under components`,
    );
  }
  const applied: Ref[] = [];
  const result: UpResult = { components: [], urls: [], credentials: [], removed: 0 };
  for (const [i, r] of rendered.entries()) {
    const started = Date.now();
    const tag = `[${i + 1}/${rendered.length}] ${r.component.name}`;
    say(`${tag}: applying ${r.release.length} object(s)`);
    await applyAll(client, discovery, r.release, (line) => say(`${tag}: ${line}`));
    applied.push(...r.release.map(refOf));
    await waitHealthy(client, discovery, r.component.health(config), r.component.name, started + timeoutMs, (line) =>
      say(`${tag}: ${line}`),
    );
    if (r.config.length) {
      say(`${tag}: applying ${r.config.length} configuration object(s)`);
      await applyAll(client, discovery, r.config);
      applied.push(...r.config.map(refOf));
    }
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    say(`${tag}: ready in ${seconds} s`);
    result.components.push({ name: r.component.name, seconds });
    const url = r.component.url?.(config);
    if (url) result.urls.push(`${r.component.name}: ${url}`);
    if (r.component.credentials) result.credentials.push(`${r.component.name}: ${r.component.credentials}`);
  }
  // What an earlier run applied and this config no longer asks for.
  const now = new Set(applied.map(keyOf));
  const stale = (await readInventory(client)).filter((ref) => !now.has(keyOf(ref)));
  if (stale.length) {
    say(`removing ${stale.length} object(s) no longer in the config`);
    result.removed = await deleteRefs(client, discovery, stale, true);
  }
  await writeInventory(client, applied);
  return result;
}

async function waitHealthy(
  client: KubeClient,
  discovery: Discovery,
  checks: HealthCheck[],
  name: string,
  deadline: number,
  say: Progress,
): Promise<void> {
  let last = '';
  for (;;) {
    const states = await Promise.all(checks.map((h) => healthOf(client, discovery, h)));
    const waiting = states.filter((s): s is string => s !== true);
    if (!waiting.length) return;
    const line = `waiting: ${waiting.join('; ')}`;
    if (line !== last) say(line);
    last = line;
    if (Date.now() > deadline) throw new InstallError(`${name} did not become healthy in time: ${waiting.join('; ')}`);
    await sleep(1000);
  }
}

export interface ComponentStatus {
  name: string;
  healthy: boolean;
  detail: string;
}

/** Health of every enabled component. */
export async function status(client: KubeClient, config: PlatformConfig): Promise<ComponentStatus[]> {
  const discovery = new Discovery(client);
  const out: ComponentStatus[] = [];
  for (const r of render(config)) {
    const states = await Promise.all(r.component.health(config).map((h) => healthOf(client, discovery, h)));
    const waiting = states.filter((s): s is string => s !== true);
    out.push({
      name: r.component.name,
      healthy: !waiting.length,
      detail: waiting.length ? waiting.join('; ') : 'healthy',
    });
  }
  return out;
}

/** Plinth's own resources across the cluster: how many of each kind, and how many are Ready. */
export async function resourceSummary(
  client: KubeClient,
): Promise<{ kind: string; total: number; ready: number; error?: string }[]> {
  const discovery = new Discovery(client);
  const out: { kind: string; total: number; ready: number; error?: string }[] = [];
  for (const { apiVersion, kind } of plinthKinds) {
    const type = await discovery.type(apiVersion, kind);
    if (!type) continue;
    try {
      const items = (
        await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(type)
      ).items;
      const ready = items.filter((o) =>
        o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length;
      out.push({ kind, total: items.length, ready });
    } catch (e) {
      out.push({ kind, total: 0, ready: 0, error: (e as Error).message });
    }
  }
  return out;
}

/** Removes everything up applied (newest first), keeping volume claims unless told otherwise. */
export async function down(
  client: KubeClient,
  opts: { progress?: Progress; deleteVolumes?: boolean; deleteResources?: boolean; timeoutMs?: number } = {},
): Promise<number> {
  const say = opts.progress ?? (() => {});
  const discovery = new Discovery(client);
  const refs = await readInventory(client);
  if (!refs.length) {
    say('nothing to remove: no Plinth install recorded in kube-system/plinth-install');
    return 0;
  }
  // Removing the CRDs would strand every Database, Tenant and Function whose finalizer needs the
  // operator (grants to revoke, namespaces to release). They go first, while it still runs.
  const existing = (await resourceSummary(client)).filter((r) => r.total > 0);
  if (existing.length) {
    const what = existing.map((r) => `${r.total} ${r.kind}(s)`).join(', ');
    if (!opts.deleteResources) {
      throw new InstallError(
        `the cluster still has ${what}: delete them first, or run down with --delete-resources to delete them (their finalizers run) before Plinth goes`,
      );
    }
    say(`deleting ${what} while the operator still runs`);
    const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
    for (const r of existing) {
      const type = await discovery.type('plinth.dev/v1alpha1', r.kind);
      if (!type) continue;
      for (const o of (await client.list(type)).items) {
        await client.delete(type, { namespace: o.metadata?.namespace, name: o.metadata?.name ?? '' });
      }
    }
    for (;;) {
      const left = (await resourceSummary(client)).filter((r) => r.total > 0);
      if (!left.length) break;
      if (Date.now() > deadline) {
        throw new InstallError(
          `still waiting for ${left.map((r) => `${r.total} ${r.kind}(s)`).join(', ')} to finish deleting (their finalizers need the operator)`,
        );
      }
      await sleep(1000);
    }
  }
  say(`removing ${refs.length} object(s)${opts.deleteVolumes ? ', volume claims included' : ''}`);
  const n = await deleteRefs(client, discovery, refs, !opts.deleteVolumes, say);
  const cm = await discovery.type('v1', 'ConfigMap');
  if (cm) await client.delete(cm, INVENTORY);
  return n;
}

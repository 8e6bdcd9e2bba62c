// The gateway's view of a cluster: routes from Functions' resolved traffic (status.traffic)
// and from GraphQLApis (one Service each, gql-<name>), ready endpoints from each revision
// Service's EndpointSlices, and waking from zero through the revision Deployment's scale
// subresource. A poolable revision at zero (poolRuntime, and code that declares no dependencies:
// a pool pod has none installed) is first served by a warm pool pod of
// its namespace, specialized with the revision's code (from the ConfigMap the namespace's pool
// Role lets the gateway read) while its own pod starts: see apps/operator/src/function/pool.ts.
// Revision ids are `namespace/revision`. Route ownership (resolveRoutes, with
// Tenants' grants and each object's status.route) decides which claims are routed: a refused
// claim is never routed, whatever its traffic; the operator reports it on the object as
// RouteConflict. An accepted claim without traffic (or a GraphQL API not serving yet) is a
// route with no targets (503), and every granted prefix and host is fenced (404), so no
// request falls through to another tenant's route. Routes are rebuilt once after the initial
// lists and then at most once per settle period however many objects change (status writes
// included).
import {
  DefaultHandlers,
  FUNCTION_LABELS,
  FunctionKind,
  type FunctionObject,
  GraphQLApiKind,
  type GraphQLApiObject,
  graphqlPrefix,
  graphqlServiceName,
  MANAGED_SELECTOR,
  POOL,
  type PoolRuntime,
  poolRuntime,
  sourceConfigMapName,
  TenantKind,
  type TenantObject,
} from '@plinth/api';
import {
  claimKey,
  declaredDependencies,
  defaultPrefix,
  type FunctionBackend,
  fenceRoutes,
  functionClaim,
  graphqlApiClaim,
  normalizePrefix,
  type Route,
  type RouteRefusal,
  resolveRoutes,
  tenantGrant,
} from '@plinth/faas';
import {
  type Access,
  getReplicas,
  Informer,
  type KubeClient,
  type KubeObject,
  type Logger,
  pathFor,
  READ,
  Resources,
  replicasAccess,
  resourceOf,
  setReplicas,
  silentLogger,
} from '@plinth/kube';
import { request } from 'undici';

/**
 * What the gateway does in the API everywhere: read routes (Functions, GraphQLApis, and Tenants,
 * whose grants decide who may serve a path or host) and endpoints, and wake a revision from
 * zero. The source of its ClusterRole (npm run gen:rbac). Reading a pool's code and moving the
 * pod it specializes are granted per namespace by the Role the operator keeps with the pool.
 */
export const gatewayAccess: Access[] = [
  ...[FunctionKind, GraphQLApiKind, TenantKind].map((k) => ({ type: resourceOf(k), verbs: READ })),
  { type: Resources.EndpointSlice, verbs: READ },
  { type: Resources.Deployment, subresource: 'scale', verbs: ['get'] },
  ...replicasAccess,
];

interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind?: string; name?: string };
  }[];
  ports?: { name?: string; port?: number }[];
}

export interface KubeBackendOptions {
  client: KubeClient;
  /**
   * Serve one namespace (tests); all when omitted. Route conflicts are then settled among
   * that namespace's claims only (Tenants are always read cluster-wide).
   */
  namespace?: string;
  logger?: Logger;
  /** How long a burst of changes is gathered before routes are rebuilt (default 50 ms). */
  settleMs?: number;
  /** Longest a pool pod may take to load a function's code (default 10 s). */
  specializeTimeoutMs?: number;
}

/** A pool pod this gateway specialized, served before its revision's EndpointSlice lists it. */
interface Specialized {
  url: string;
  at: number;
}
/** How long a specialized pod is served from this gateway's own record at most. */
const SPECIALIZED_TTL_MS = 60_000;
/** Longest a wake waits for the pool to have an idle pod again (the revision's pod may win). */
const POOL_WAIT_MS = 10_000;
/** Longest one wake of a revision is waited on (each request has its own, shorter deadline). */
const WAKE_LIMIT_MS = 300_000;

const SERVICE_NAME = 'kubernetes.io/service-name';

export class KubeBackend implements FunctionBackend {
  #client: KubeClient;
  #functions: Informer<FunctionObject & KubeObject>;
  #graphqlApis: Informer<GraphQLApiObject & KubeObject>;
  #tenants: Informer<TenantObject & KubeObject>;
  #slices: Informer<EndpointSlice>;
  #routes: Route[] = [];
  #refused: ReadonlyMap<string, RouteRefusal> = new Map();
  #waiters = new Map<string, Set<() => void>>();
  #log: Logger;
  #settleMs: number;
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #specializeTimeoutMs: number;
  /**
   * Pool pods taken by this gateway (`namespace/pod` to the pool Service), never offered again;
   * forgotten once the pool's EndpointSlices no longer list them (moved out or gone).
   */
  #claimed = new Map<string, string>();
  #specialized = new Map<string, Specialized[]>();
  /** One wake per revision at a time: a burst at zero takes one pool pod, not one each. */
  #waking = new Map<string, Promise<void>>();

  constructor(opts: KubeBackendOptions) {
    this.#client = opts.client;
    this.#log = (opts.logger ?? silentLogger).child({ backend: 'kubernetes' });
    this.#settleMs = opts.settleMs ?? 50;
    this.#specializeTimeoutMs = opts.specializeTimeoutMs ?? 10_000;
    this.#functions = new Informer({
      client: opts.client,
      type: resourceOf(FunctionKind),
      namespace: opts.namespace,
      logger: this.#log,
    });
    this.#graphqlApis = new Informer({
      client: opts.client,
      type: resourceOf(GraphQLApiKind),
      namespace: opts.namespace,
      logger: this.#log,
    });
    this.#tenants = new Informer({ client: opts.client, type: resourceOf(TenantKind), logger: this.#log });
    this.#slices = new Informer({
      client: opts.client,
      type: Resources.EndpointSlice,
      namespace: opts.namespace,
      labelSelector: MANAGED_SELECTOR,
      logger: this.#log,
    });
    // Coalesced: one rebuild per settle period, none before the initial lists are in.
    const rebuild = () => {
      if (this.#started && !this.#timer)
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#rebuild();
        }, this.#settleMs);
    };
    for (const e of ['add', 'update', 'delete'] as const) {
      this.#functions.on(e, rebuild);
      this.#graphqlApis.on(e, rebuild);
      this.#tenants.on(e, rebuild);
      this.#slices.on(e, (s) => this.#notify(s));
    }
  }

  async start(): Promise<void> {
    await Promise.all([
      this.#functions.start(),
      this.#graphqlApis.start(),
      this.#tenants.start(),
      this.#slices.start(),
    ]);
    this.#started = true;
    this.#rebuild();
  }

  stop(): void {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#functions.stop();
    this.#graphqlApis.stop();
    this.#tenants.stop();
    this.#slices.stop();
  }

  routes(): readonly Route[] {
    return this.#routes;
  }

  /** Claims not routed, by `Kind/namespace/name`, and why. */
  refusals(): ReadonlyMap<string, RouteRefusal> {
    return this.#refused;
  }

  endpoints(revision: string): readonly string[] {
    const [ns, name] = revision.split('/');
    if (!ns || !name) return [];
    const ready: string[] = [];
    const terminating: string[] = [];
    for (const slice of this.#slices.list(ns)) {
      if (slice.metadata?.labels?.[SERVICE_NAME] !== name) continue;
      const port = slice.ports?.find((p) => p.name === 'http')?.port ?? 8080;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses[0];
        if (!ip) continue;
        const url = slice.addressType === 'IPv6' ? `http://[${ip}]:${port}` : `http://${ip}:${port}`;
        const c = ep.conditions ?? {};
        if (c.terminating) {
          if (c.serving !== false) terminating.push(url);
        } else if (c.ready !== false) ready.push(url);
      }
    }
    // A pool pod this gateway specialized, until the revision's slice lists it (or for a while).
    const own = this.#specialized.get(revision);
    if (own) {
      const now = Date.now();
      const live = own.filter((x) => now - x.at < SPECIALIZED_TTL_MS && !ready.includes(x.url));
      if (live.length) this.#specialized.set(revision, live);
      else this.#specialized.delete(revision);
      for (const x of live) ready.push(x.url);
    }
    // Instances still serving during their preStop delay take requests only when no other is
    // ready: a revision just taken out of traffic, before the gateway has seen the new traffic.
    return ready.length ? ready : terminating;
  }

  async wake(revision: string, signal: AbortSignal): Promise<void> {
    if (this.endpoints(revision).length > 0) return;
    let waking = this.#waking.get(revision);
    if (!waking) {
      // Shared by every request waiting on this revision, so bounded by none of theirs.
      waking = this.#wake(revision, AbortSignal.timeout(WAKE_LIMIT_MS)).finally(() => this.#waking.delete(revision));
      this.#waking.set(revision, waking);
    }
    // Each request still gives up at its own deadline.
    await Promise.race([
      waking,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    ]);
  }

  async #wake(revision: string, signal: AbortSignal): Promise<void> {
    const [namespace, name] = revision.split('/');
    if (!namespace || !name) throw new Error(`bad revision id "${revision}"`);
    // The revision's own pod, started when a warm pool pod cannot serve (or not at once). A pool
    // pod that serves is the revision's capacity: the autoscaler starts the revision's own pod
    // when the traffic stays, and the operator retires the pool pod then (or once idle).
    let own: Promise<void> | undefined;
    const ownPod = () => {
      own ??= this.#scaleUp(namespace, name).then(() =>
        this.#until(revision, () => this.endpoints(revision).length > 0, signal),
      );
      return own;
    };
    if (await this.#fromPool(namespace, name, ownPod).catch((e: Error) => this.#poolFailed(revision, e))) return;
    await ownPod();
  }

  /** Resolves once `done()` holds, checked whenever the EndpointSlices of Service `key` change. */
  #until(key: string, holds: () => boolean, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const set = this.#waiters.get(key) ?? new Set();
      this.#waiters.set(key, set);
      const finish = (fn: () => void) => {
        set.delete(check);
        if (set.size === 0) this.#waiters.delete(key);
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const check = () => {
        if (holds()) finish(resolve);
      };
      const onAbort = () => finish(() => reject(signal.reason));
      set.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }

  async #scaleUp(namespace: string, name: string): Promise<void> {
    const replicas = await getReplicas(this.#client, namespace, name);
    if (replicas === undefined) throw new Error(`revision ${namespace}/${name} has no Deployment`);
    if (replicas === 0) {
      this.#log.info({ revision: `${namespace}/${name}` }, 'waking revision from zero');
      await setReplicas(this.#client, namespace, name, 1);
    }
  }

  #poolFailed(revision: string, e: Error): false {
    this.#log.warn({ revision, err: e.message }, 'warm pool could not serve; waiting for the revision pod');
    return false;
  }

  /**
   * Specializes an idle pool pod of the namespace with the revision's code, when the revision
   * is poolable: the latest revision of a Function whose status describes its current spec.
   * Resolves true once the pod serves the function.
   */
  async #fromPool(namespace: string, revision: string, ownPod: () => Promise<void>): Promise<boolean> {
    const fn = this.#functions
      .list(namespace)
      .find(
        (f) =>
          f.status?.latestCreatedRevision === revision &&
          f.status.observedGeneration === f.metadata?.generation &&
          !f.metadata?.deletionTimestamp,
      );
    if (!fn?.metadata?.name) return false;
    const spec = FunctionKind.withDefaults(fn.spec);
    const runtime = poolRuntime(spec);
    const source = sourceConfigMapName(spec, revision);
    if (!runtime || !source) return false;
    let idle = this.#idlePoolPods(namespace, runtime);
    if (idle.length === 0) {
      // All taken a moment ago: the pool's replacement is usually ready before a pod started
      // from zero would be, so the first of the two serves.
      const pool = this.#until(
        `${namespace}/${POOL.name(runtime)}`,
        () => this.#idlePoolPods(namespace, runtime).length > 0,
        AbortSignal.timeout(POOL_WAIT_MS),
      );
      const own = ownPod();
      own.catch(() => {}); // awaited by the caller when the pool does not serve
      const first = await Promise.race([pool.then(() => 'pool'), own.then(() => 'own')]).catch(() => 'neither');
      pool.catch(() => {});
      if (first !== 'pool') return false;
      idle = this.#idlePoolPods(namespace, runtime);
    }
    const cm = await this.#client.get<KubeObject & { data?: Record<string, string>; binaryData?: unknown }>(
      Resources.ConfigMap,
      { namespace, name: source },
    );
    if (!cm?.data || cm.binaryData) return false;
    // A pool pod holds the runtime alone: a function that declares dependencies (package.json,
    // requirements.txt) needs them installed beside its code, which only its own pod can have.
    if (declaresDependencies(runtime, cm.data)) return false;
    const body = JSON.stringify({
      files: cm.data,
      handler: spec.handler ?? DefaultHandlers[runtime],
      env: Object.fromEntries((spec.env ?? []).map((e) => [e.name, e.value ?? ''])),
    });
    for (const pod of idle.slice(0, 3)) {
      this.#claimed.set(`${namespace}/${pod.name}`, `${namespace}/${POOL.name(runtime)}`);
      const res = await request(`${pod.url}/_/specialize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.#specializeTimeoutMs),
      }).catch((e: Error) => e);
      if (res instanceof Error) {
        this.#log.warn({ pod: pod.name, err: res.message }, 'pool pod did not answer');
        continue;
      }
      const text = await res.body.text();
      if (res.statusCode === 409) continue; // another gateway took it first
      if (res.statusCode !== 200) {
        // The function itself does not load: its own pod would fail the same way.
        this.#log.warn({ revision, pod: pod.name, status: res.statusCode, answer: text }, 'specialization failed');
        return false;
      }
      const id = `${namespace}/${revision}`;
      this.#specialized.set(id, [...(this.#specialized.get(id) ?? []), { url: pod.url, at: Date.now() }]);
      this.#log.info({ revision: id, pod: pod.name, answer: text }, 'specialized a pool pod');
      // Out of the pool (its ReplicaSet replaces it) and into the revision's Service, where the
      // other gateways find it; the operator retires it once the revision's own pod is ready, or
      // once it has been idle as long as the Function scales to zero after.
      this.#client
        .request('PATCH', pathFor(Resources.Pod, { namespace, name: pod.name }), {
          body: {
            metadata: {
              annotations: { [POOL.specializedAt]: new Date().toISOString() },
              labels: {
                [POOL.label]: null,
                [POOL.pooled]: 'true',
                [FUNCTION_LABELS.function]: fn.metadata.name,
                [FUNCTION_LABELS.revision]: revision,
              },
            },
          },
          contentType: 'application/merge-patch+json',
        })
        .catch((e: Error) => this.#log.warn({ pod: pod.name, err: e.message }, 'could not move the pool pod'));
      return true;
    }
    return false;
  }

  /** Ready, unclaimed pods of a namespace's pool, from the pool Service's EndpointSlices. */
  #idlePoolPods(namespace: string, runtime: PoolRuntime): { name: string; url: string }[] {
    const pods: { name: string; url: string }[] = [];
    for (const slice of this.#slices.list(namespace)) {
      if (slice.metadata?.labels?.[SERVICE_NAME] !== POOL.name(runtime)) continue;
      const port = slice.ports?.find((p) => p.name === 'http')?.port ?? 8080;
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses[0];
        const name = ep.targetRef?.name;
        if (!ip || !name || ep.conditions?.ready === false || ep.conditions?.terminating) continue;
        if (this.#claimed.has(`${namespace}/${name}`)) continue;
        pods.push({ name, url: slice.addressType === 'IPv6' ? `http://[${ip}]:${port}` : `http://${ip}:${port}` });
      }
    }
    return pods;
  }

  #notify(slice: EndpointSlice): void {
    const ns = slice.metadata?.namespace;
    const svc = slice.metadata?.labels?.[SERVICE_NAME];
    if (!ns || !svc) return;
    if (this.#claimed.size > 0) {
      const pool = `${ns}/${svc}`;
      const listed = new Set(
        this.#slices
          .list(ns)
          .filter((s) => s.metadata?.labels?.[SERVICE_NAME] === svc)
          .flatMap((s) => (s.endpoints ?? []).map((ep) => `${ns}/${ep.targetRef?.name}`)),
      );
      for (const [key, of] of this.#claimed) if (of === pool && !listed.has(key)) this.#claimed.delete(key);
    }
    for (const check of [...(this.#waiters.get(`${ns}/${svc}`) ?? [])]) check();
  }

  #rebuild(): void {
    // Every object claims its path and host, served yet or not: the incumbent, then the older
    // claim, holds it.
    const live = <T extends KubeObject>(xs: T[]) => xs.filter((x) => x.metadata?.name && !x.metadata.deletionTimestamp);
    const functions = live(this.#functions.list());
    const apis = live(this.#graphqlApis.list());
    const grants = this.#tenants.list().map((t) => tenantGrant(t));
    const { refused } = resolveRoutes(
      [...functions.map((f) => functionClaim(f)), ...apis.map((a) => graphqlApiClaim(a))],
      grants,
    );
    this.#refused = refused;
    const routes: Route[] = [];
    for (const fn of functions) {
      const ns = fn.metadata?.namespace ?? 'default';
      if (!fn.metadata?.name) continue;
      if (refused.has(claimKey('Function', ns, fn.metadata.name))) continue;
      const spec = FunctionKind.withDefaults(fn.spec);
      routes.push({
        function: `${ns}/${fn.metadata.name}`,
        prefix: normalizePrefix(spec.http.path ?? defaultPrefix(ns, fn.metadata.name)),
        ...(spec.http.host ? { host: spec.http.host } : {}),
        timeoutMs: spec.timeoutSeconds * 1000,
        // None yet: the Function holds its path and host all the same (503, not another route).
        targets: (fn.status?.traffic ?? []).map((t) => ({
          revision: `${ns}/${t.revision}`,
          percent: t.percent,
          ...(t.tag ? { tag: t.tag } : {}),
        })),
      });
    }
    for (const api of apis) {
      const ns = api.metadata?.namespace ?? 'default';
      const name = api.metadata?.name;
      if (!name) continue;
      if (refused.has(claimKey('GraphQLApi', ns, name))) continue;
      const spec = GraphQLApiKind.withDefaults(api.spec);
      routes.push({
        function: `${ns}/${name}`,
        prefix: normalizePrefix(graphqlPrefix({ metadata: { namespace: ns, name }, spec: api.spec })),
        ...(spec.http.host ? { host: spec.http.host } : {}),
        timeoutMs: 30_000,
        // Not reconciled yet (no URL): held, answered 503.
        targets: api.status?.url ? [{ revision: `${ns}/${graphqlServiceName(name)}`, percent: 100 }] : [],
      });
    }
    this.#routes = [...routes, ...fenceRoutes(grants)];
  }
}

/** Whether a function's files declare dependencies (a manifest that cannot be installed counts). */
function declaresDependencies(runtime: PoolRuntime, files: Record<string, string>): boolean {
  try {
    return declaredDependencies(runtime, files) !== undefined;
  } catch {
    return true;
  }
}

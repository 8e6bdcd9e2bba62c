// The gateway's view of a cluster: routes from Functions' resolved traffic (status.traffic)
// and from GraphQLApis (one Service each, gql-<name>), ready endpoints from each revision
// Service's EndpointSlices, and waking from zero through the revision Deployment's scale
// subresource. Revision ids are `namespace/revision`. Route ownership (resolveRoutes, with
// Tenants' grants and each object's status.route) decides which claims are routed: a refused
// claim is never routed, whatever its traffic; the operator reports it on the object as
// RouteConflict. An accepted claim without traffic (or a GraphQL API not serving yet) is a
// route with no targets (503), and every granted prefix and host is fenced (404), so no
// request falls through to another tenant's route. Routes are rebuilt once after the initial
// lists and then at most once per settle period however many objects change (status writes
// included).
import {
  FunctionKind,
  type FunctionObject,
  GraphQLApiKind,
  type GraphQLApiObject,
  graphqlPrefix,
  graphqlServiceName,
  TenantKind,
  type TenantObject,
} from '@plinth/api';
import {
  claimKey,
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
  Informer,
  type KubeClient,
  type KubeObject,
  type Logger,
  pathFor,
  Resources,
  resourceOf,
  silentLogger,
} from '@plinth/kube';

interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean } }[];
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
}

const SERVICE_NAME = 'kubernetes.io/service-name';
const AUTOSCALER = 'plinth-autoscaler';

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

  constructor(opts: KubeBackendOptions) {
    this.#client = opts.client;
    this.#log = (opts.logger ?? silentLogger).child({ backend: 'kubernetes' });
    this.#settleMs = opts.settleMs ?? 50;
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
      labelSelector: 'app.kubernetes.io/managed-by=plinth',
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
    // Instances still serving during their preStop delay take requests only when no other is
    // ready: a revision just taken out of traffic, before the gateway has seen the new traffic.
    return ready.length ? ready : terminating;
  }

  async wake(revision: string, signal: AbortSignal): Promise<void> {
    if (this.endpoints(revision).length > 0) return;
    const [namespace, name] = revision.split('/');
    if (!namespace || !name) throw new Error(`bad revision id "${revision}"`);
    const ready = new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.endpoints(revision).length > 0) done(resolve);
      };
      const onAbort = () => done(() => reject(signal.reason));
      const set = this.#waiters.get(revision) ?? new Set();
      this.#waiters.set(revision, set);
      set.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
      function done(fn: () => void) {
        set.delete(check);
        signal.removeEventListener('abort', onAbort);
        fn();
      }
      check();
    });
    const scalePath = pathFor(Resources.Deployment, { namespace, name, subresource: 'scale' });
    const scale = await this.#client.request<{ spec?: { replicas?: number } }>('GET', scalePath);
    if ((scale.spec?.replicas ?? 0) === 0) {
      this.#log.info({ revision }, 'waking revision from zero');
      await this.#client.request('PATCH', scalePath, {
        body: { spec: { replicas: 1 } },
        contentType: 'application/merge-patch+json',
        query: { fieldManager: AUTOSCALER },
      });
    }
    await ready;
  }

  #notify(slice: EndpointSlice): void {
    const ns = slice.metadata?.namespace;
    const svc = slice.metadata?.labels?.[SERVICE_NAME];
    if (!ns || !svc) return;
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

// What the gateway routes, who may route what, and the one interface through which the
// gateway reaches function instances: a backend that lists ready endpoints per revision and
// can be asked to wake one.
//
// Route ownership (resolveRoutes) is one pure function used by the gateway's Kubernetes
// backend, by `plinth dev` and by the operator (which writes the RouteConflict condition and
// status.route), so all three refuse the same claims with the same words:
//   - /fn/<ns>/ and /graphql/<ns>/ belong to namespace <ns>: no other namespace may claim a
//     path in them (nor /fn, /graphql or anything under /_/, the gateway's own).
//   - Any other path or host belongs to the Tenant holding the MOST SPECIFIC grant covering it
//     (spec.routes): the longest granted path prefix; for a host, an exact grant before any
//     *.suffix, a longer suffix before a shorter one. Two Tenants granted exactly the same
//     prefix or host: the older Tenant holds it (the younger is told so in its status). A
//     claim is admissible only when that grant is its own namespace's Tenant's: a Tenant
//     granted / cannot claim /shop/checkout when another is granted /shop, because the
//     gateway's longest-prefix match would hand it the other tenant's /shop/checkout requests.
//     A namespace with no Tenant is one only cluster administrators can write to: it may claim
//     any path or host that no Tenant's grant covers.
//   - Two admissible claims on the same path or the same host: the INCUMBENT keeps it, the
//     claim whose status.route (written by the operator when it accepted the claim; tenants
//     cannot write status subresources) records exactly that path or host. Among newcomers the
//     older object wins (metadata.creationTimestamp, then namespace, name and kind). Creation
//     time alone would let any old object take a route from its holder by being edited to
//     point at it. A refused claim holds nothing, and its status.route is cleared. Should two
//     records ever name the same path or host (a record written from a view that lagged), the
//     earlier status.route.since keeps it.
// The gateway never lets a request fall through from a granted or held path or host to
// another route: fenceRoutes() are placeholders at every granted prefix and host (404), and a
// holder without traffic is still a route (503).
import { type FunctionObject, type GraphQLApiObject, graphqlPrefix, type TenantObject } from '@plinth/api';

export interface RouteTarget {
  revision: string;
  percent: number;
  tag?: string;
}

export interface Route {
  /** `namespace/name` of the Function (or GraphQL API); '' for a fence. */
  function: string;
  /** Path prefix, e.g. /fn/default/hello; stripped before forwarding. */
  prefix: string;
  /** Requests for this host are routed here whatever their path. */
  host?: string;
  /** A fence for a *.suffix grant: requests for any host ending in this (".example.com"). */
  hostSuffix?: string;
  /**
   * A placeholder, not a function: a prefix (`path`) or host (`host`) granted to a Tenant
   * that no routed claim serves. Requests matched here are answered 404 instead of falling
   * through to a shorter prefix or, for a host, to path routing: another tenant's.
   */
  fence?: 'path' | 'host';
  timeoutMs: number;
  /** Empty for a claim that holds its path or host but takes no traffic yet (answered 503). */
  targets: RouteTarget[];
}

export interface FunctionBackend {
  /**
   * Function routes first, then fences. A new array whenever they change, never one changed in
   * place: the gateway indexes each array once.
   */
  routes(): readonly Route[];
  /** Base URLs (http://host:port) of the revision's ready instances. */
  endpoints(revision: string): readonly string[];
  /** Resolves once the revision has a ready endpoint; rejects if the signal aborts first. */
  wake(revision: string, signal: AbortSignal): Promise<void>;
}

/** Default route prefix of a function. */
export const defaultPrefix = (namespace: string, name: string): string => `/fn/${namespace}/${name}`;

/** Path trees that belong to one namespace each: /fn/<ns>/ and /graphql/<ns>/. */
export const NAMESPACE_TREES = ['/fn', '/graphql'] as const;
/** The gateway's own endpoints (/_/health, /_/metrics...): never routed to a function. */
const GATEWAY_TREE = '/_';

export type RouteOwnerKind = 'Function' | 'GraphQLApi';

/** The path and host a claim holds, as the operator records them in status.route. */
export interface HeldRoute {
  path: string;
  host?: string;
  /** When this path and host were first recorded (RFC 3339): of two records, the earlier keeps them. */
  since?: string;
}

/** One object's claim on a path prefix (always) and a host (optionally). */
export interface RouteClaim {
  kind: RouteOwnerKind;
  namespace: string;
  name: string;
  /** metadata.creationTimestamp (RFC 3339). A claim without one counts as the newest. */
  createdAt?: string;
  /** The prefix it serves: http.path, or its default path. */
  path: string;
  host?: string;
  /**
   * What it held when last accepted (status.route, written by the operator only). It keeps
   * whichever of that path and host it still claims against any newcomer, older or not.
   */
  held?: HeldRoute;
}

/** What a Tenant grants its namespaces (spec.routes). */
export interface RouteGrant {
  tenant: string;
  createdAt?: string;
  namespaces: readonly string[];
  hosts: readonly string[];
  pathPrefixes: readonly string[];
}

export interface RouteRefusal {
  reason: 'RouteConflict';
  /** Names what is not allowed, or the claim that holds the path or host. */
  message: string;
  /** `Kind namespace/name` of the claim serving the contested path or host, when one does. */
  holder?: string;
}

export interface RouteResolution {
  /** claimKey()s of the claims that are routed. */
  readonly accepted: ReadonlySet<string>;
  /** claimKey() -> why that claim is not routed. */
  readonly refused: ReadonlyMap<string, RouteRefusal>;
  /**
   * Tenant name -> the grants of it that an older Tenant is granted too (so they give it
   * nothing), in words. Nested grants (/ and /shop) are not listed: the more specific wins.
   */
  readonly overlaps: ReadonlyMap<string, string>;
}

export const claimKey = (kind: RouteOwnerKind, namespace: string, name: string): string =>
  `${kind}/${namespace}/${name}`;

const label = (c: RouteClaim) => `${c.kind} ${c.namespace}/${c.name}`;

/** A prefix without its trailing slashes ("/" stays "/"): /shop and /shop/ route the same requests. */
export function normalizePrefix(p: string): string {
  let end = p.length;
  while (end > 1 && p.charCodeAt(end - 1) === 47) end--;
  return end === p.length ? p : p.slice(0, end);
}

/** Whether normalized path `p` is `prefix` or below it. */
export const within = (p: string, prefix: string): boolean =>
  prefix === '/' || p === prefix || p.startsWith(`${prefix}/`);

const hostGranted = (grant: string, host: string): boolean =>
  grant.startsWith('*.') ? host.endsWith(grant.slice(1)) : host === grant;

const byAge = <T extends { createdAt?: string }>(a: T, b: T, tie: (x: T) => string): number => {
  const x = a.createdAt ?? '~';
  const y = b.createdAt ?? '~';
  if (x !== y) return x < y ? -1 : 1;
  const s = tie(a);
  const t = tie(b);
  return s < t ? -1 : s > t ? 1 : 0;
};

const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : 'none');

/** The path prefixes a grant gives, normalized; never inside /fn/, /graphql/ or /_/. */
export const grantedPrefixes = (g: RouteGrant): string[] =>
  g.pathPrefixes.map(normalizePrefix).filter((p) => ![...NAMESPACE_TREES, GATEWAY_TREE].some((t) => within(p, t)));

/** The grant that decides who owns paths and hosts: for each granted prefix or host, its oldest Tenant. */
function grantIndex(grants: readonly RouteGrant[]) {
  const sorted = [...grants].sort((a, b) => byAge(a, b, (x) => x.tenant));
  // A namespace listed by several Tenants belongs to the oldest (the others report Conflict).
  const tenantOf = new Map<string, RouteGrant>();
  const paths = new Map<string, RouteGrant>();
  const hosts = new Map<string, RouteGrant>();
  const overlaps = new Map<string, string[]>();
  const overlap = (g: RouteGrant, what: string, holder: RouteGrant) => {
    const xs = overlaps.get(g.tenant) ?? [];
    xs.push(`${what} is also granted to Tenant ${holder.tenant}, which is older and holds it`);
    overlaps.set(g.tenant, xs);
  };
  for (const g of sorted) {
    for (const ns of g.namespaces) if (!tenantOf.has(ns)) tenantOf.set(ns, g);
    for (const p of new Set(grantedPrefixes(g))) {
      const holder = paths.get(p);
      if (!holder) paths.set(p, g);
      else overlap(g, `path prefix ${p}`, holder);
    }
    for (const h of new Set(g.hosts)) {
      const holder = hosts.get(h);
      if (!holder) hosts.set(h, g);
      else overlap(g, `host ${h}`, holder);
    }
  }
  /** The most specific granted prefix covering normalized path `p`, and its Tenant. */
  const pathOwner = (p: string): [string, RouteGrant] | undefined => {
    for (let q = p; ; ) {
      const g = paths.get(q);
      if (g) return [q, g];
      if (q === '/') return undefined;
      const i = q.lastIndexOf('/');
      q = i <= 0 ? '/' : q.slice(0, i);
    }
  };
  /** The most specific grant covering host `h`: exact, then the longest *.suffix. */
  const hostOwner = (h: string): [string, RouteGrant] | undefined => {
    const exact = hosts.get(h);
    if (exact) return [h, exact];
    for (let i = h.indexOf('.'); i >= 0; i = h.indexOf('.', i + 1)) {
      const w = `*${h.slice(i)}`;
      const g = hosts.get(w);
      if (g) return [w, g];
    }
    return undefined;
  };
  return { tenantOf, pathOwner, hostOwner, overlaps };
}

/**
 * Decides which claims the gateway routes and why the others are refused. Pure: the same
 * claims and grants give the same answer in the gateway, the operator and `plinth dev`.
 * O(n log n) in claims (each grant lookup walks the path's segments or the host's labels).
 */
export function resolveRoutes(claims: readonly RouteClaim[], grants: readonly RouteGrant[]): RouteResolution {
  const { tenantOf, pathOwner, hostOwner, overlaps } = grantIndex(grants);

  /** Why this claim's namespace may not serve it, or undefined when it may. */
  const notAllowed = (c: RouteClaim, path: string): string | undefined => {
    const problems: string[] = [];
    const tenant = tenantOf.get(c.namespace);
    if (/\/\/|\/\.\.?(\/|$)/.test(path)) problems.push(`path ${c.path} is not a normalized path`);
    else if (within(path, GATEWAY_TREE)) problems.push(`path ${c.path} is inside /_/, the gateway's own endpoints`);
    else {
      const tree = NAMESPACE_TREES.find((t) => within(path, t));
      if (tree) {
        const owner = path.slice(tree.length + 1).split('/')[0];
        if (!owner) problems.push(`path ${c.path} would take ${tree}/, where each namespace has its own default paths`);
        else if (owner !== c.namespace)
          problems.push(`path ${c.path} is inside ${tree}/${owner}/, the default paths of namespace ${owner}`);
      } else {
        const owner = pathOwner(path);
        if (tenant) {
          if (owner?.[1] !== tenant) {
            // The tenant's own grants covering the path, most specific first.
            const own = grantedPrefixes(tenant)
              .filter((g) => within(path, g))
              .sort((a, b) => b.length - a.length)[0];
            if (!owner || own === undefined)
              problems.push(
                `path ${c.path} is not among the path prefixes Tenant ${tenant.tenant} grants (${list(grantedPrefixes(tenant))})`,
              );
            else if (own === owner[0])
              problems.push(
                `path ${c.path} is inside ${own}, which Tenant ${owner[1].tenant} is granted too; it is older and holds it`,
              );
            else
              problems.push(
                `path ${c.path} is inside ${owner[0]}, granted to Tenant ${owner[1].tenant}, more specific than Tenant ${tenant.tenant}'s ${own}`,
              );
          }
        } else if (owner)
          problems.push(
            `path ${c.path} is inside ${owner[0]}, granted to Tenant ${owner[1].tenant}, and namespace ${c.namespace} belongs to no Tenant`,
          );
      }
    }
    if (c.host) {
      const owner = hostOwner(c.host);
      if (tenant) {
        if (owner?.[1] !== tenant) {
          const own = tenant.hosts.filter((g) => hostGranted(g, c.host as string));
          // Exact before wildcard, a longer suffix before a shorter one.
          const best = own.sort((a, b) => (a === c.host ? -1 : b === c.host ? 1 : b.length - a.length))[0];
          if (!owner || best === undefined)
            problems.push(
              `host ${c.host} is not among the hosts Tenant ${tenant.tenant} grants (${list(tenant.hosts)})`,
            );
          else if (best === owner[0])
            problems.push(
              `host ${c.host} is inside ${best}, which Tenant ${owner[1].tenant} is granted too; it is older and holds it`,
            );
          else
            problems.push(
              `host ${c.host} is granted ${owner[0] === c.host ? '' : `as ${owner[0]} `}to Tenant ${owner[1].tenant}, more specific than Tenant ${tenant.tenant}'s ${best}`,
            );
        }
      } else if (owner)
        problems.push(
          `host ${c.host} is granted to Tenant ${owner[1].tenant}${owner[0] === c.host ? '' : ` (as ${owner[0]})`}, and namespace ${c.namespace} belongs to no Tenant`,
        );
    }
    return problems.length ? problems.join('; ') : undefined;
  };

  const accepted = new Set<string>();
  const refused = new Map<string, RouteRefusal>();
  const pathHolder = new Map<string, RouteClaim>();
  const hostHolder = new Map<string, RouteClaim>();
  const disallowed: [RouteClaim, string, string][] = [];
  const admissible: [RouteClaim, string][] = [];
  const tie = (c: RouteClaim) => `${c.namespace}/${c.name}/${c.kind}`;
  for (const c of [...claims].sort((a, b) => byAge(a, b, tie))) {
    const path = normalizePrefix(c.path);
    const why = notAllowed(c, path);
    if (why) disallowed.push([c, path, why]);
    else admissible.push([c, path]);
  }
  // Incumbents first: each path and host its status.route records and it still claims is
  // reserved for it (should two records say the same, for the earlier record, then the older).
  const pathKept = new Map<string, RouteClaim>();
  const hostKept = new Map<string, RouteClaim>();
  const earlier = (c: RouteClaim, kept: RouteClaim | undefined) =>
    !kept || (c.held?.since ?? '~') < (kept.held?.since ?? '~');
  for (const [c, path] of admissible) {
    if (c.held && normalizePrefix(c.held.path) === path && earlier(c, pathKept.get(path))) pathKept.set(path, c);
    if (c.host && c.held?.host === c.host && earlier(c, hostKept.get(c.host))) hostKept.set(c.host, c);
  }
  const keeps = ([c, path]: [RouteClaim, string]) =>
    pathKept.get(path) === c || (c.host !== undefined && hostKept.get(c.host) === c);
  for (const [c, path] of [...admissible.filter(keeps), ...admissible.filter((x) => !keeps(x))]) {
    const key = claimKey(c.kind, c.namespace, c.name);
    const pathKeeper = pathKept.get(path);
    const hostKeeper = c.host ? hostKept.get(c.host) : undefined;
    const byPath = pathHolder.get(path) ?? (pathKeeper !== c ? pathKeeper : undefined);
    const byHost = c.host ? (hostHolder.get(c.host) ?? (hostKeeper !== c ? hostKeeper : undefined)) : undefined;
    if (byPath || byHost) {
      const how = (holder: RouteClaim, kept: RouteClaim | undefined) =>
        holder === kept ? 'which holds it' : 'which claimed it first';
      const held = [
        ...(byPath ? [`path ${c.path} is served by ${label(byPath)}, ${how(byPath, pathKeeper)}`] : []),
        ...(byHost ? [`host ${c.host} is served by ${label(byHost)}, ${how(byHost, hostKeeper)}`] : []),
      ];
      refused.set(key, {
        reason: 'RouteConflict',
        message: `not routed: ${held.join('; ')}`,
        holder: label((byPath ?? byHost) as RouteClaim),
      });
      // A refused claim holds nothing: what it kept goes to the next claim in line.
      if (pathKeeper === c) pathKept.delete(path);
      if (c.host && hostKeeper === c) hostKept.delete(c.host);
      continue;
    }
    accepted.add(key);
    pathHolder.set(path, c);
    if (c.host) hostHolder.set(c.host, c);
  }
  for (const [c, path, why] of disallowed) {
    const holder = pathHolder.get(path) ?? (c.host ? hostHolder.get(c.host) : undefined);
    refused.set(claimKey(c.kind, c.namespace, c.name), {
      reason: 'RouteConflict',
      message: `not routed: ${why}${holder ? `; ${label(holder)} serves it` : ''}`,
      ...(holder ? { holder: label(holder) } : {}),
    });
  }
  return {
    accepted,
    refused,
    overlaps: new Map([...overlaps].map(([tenant, xs]) => [tenant, xs.join('; ')])),
  };
}

/** What an accepted claim holds, for status.route: its normalized path and its host, since `since`. */
export const heldRoute = (c: Pick<RouteClaim, 'path' | 'host'>, since: string): HeldRoute => ({
  path: normalizePrefix(c.path),
  ...(c.host ? { host: c.host } : {}),
  since,
});

/** Whether status.route already records what the claim holds. */
export const holds = (held: HeldRoute | undefined, c: Pick<RouteClaim, 'path' | 'host'>): boolean =>
  held !== undefined && held.path === normalizePrefix(c.path) && held.host === c.host;

/**
 * Placeholders for every granted path prefix and host, listed after the function routes: the
 * gateway answers 404 there rather than let a request for a tenant's prefix or host reach a
 * shorter prefix or path routing (another tenant's) while nothing of that tenant serves it.
 */
export function fenceRoutes(grants: readonly RouteGrant[]): Route[] {
  const prefixes = new Set(grants.flatMap(grantedPrefixes));
  const hosts = new Set(grants.flatMap((g) => g.hosts));
  const fence = { function: '', timeoutMs: 0, targets: [] };
  return [
    ...[...prefixes].map((prefix): Route => ({ ...fence, prefix, fence: 'path' })),
    ...[...hosts].map(
      (h): Route =>
        h.startsWith('*.')
          ? { ...fence, prefix: '/', hostSuffix: h.slice(1), fence: 'host' }
          : { ...fence, prefix: '/', host: h, fence: 'host' },
    ),
  ];
}

/** The claim of an object that serves `path` (and its http.host), with what it holds (status.route). */
function claimOf(
  kind: RouteOwnerKind,
  o: Pick<FunctionObject, 'metadata' | 'spec' | 'status'> | Pick<GraphQLApiObject, 'metadata' | 'spec' | 'status'>,
  path: (namespace: string, name: string) => string,
): RouteClaim {
  const namespace = o.metadata.namespace ?? 'default';
  const name = o.metadata.name ?? '';
  return {
    kind,
    namespace,
    name,
    ...(o.metadata.creationTimestamp ? { createdAt: o.metadata.creationTimestamp } : {}),
    path: path(namespace, name),
    ...(o.spec.http?.host ? { host: o.spec.http.host } : {}),
    ...(o.status?.route ? { held: o.status.route } : {}),
  };
}

/** A Function's claim: its http.path (or default path) and http.host, and status.route. */
export const functionClaim = (fn: Pick<FunctionObject, 'metadata' | 'spec' | 'status'>): RouteClaim =>
  claimOf('Function', fn, (namespace, name) => fn.spec.http?.path ?? defaultPrefix(namespace, name));

/** A GraphQLApi's claim: its http.path (or /graphql/<namespace>/<name>) and http.host, and status.route. */
export const graphqlApiClaim = (api: Pick<GraphQLApiObject, 'metadata' | 'spec' | 'status'>): RouteClaim =>
  claimOf('GraphQLApi', api, (namespace, name) => graphqlPrefix({ metadata: { namespace, name }, spec: api.spec }));

/** What a Tenant grants (spec.routes) to its namespaces. */
export function tenantGrant(t: Pick<TenantObject, 'metadata' | 'spec'>): RouteGrant {
  return {
    tenant: t.metadata.name ?? '',
    ...(t.metadata.creationTimestamp ? { createdAt: t.metadata.creationTimestamp } : {}),
    namespaces: t.spec.namespaces ?? [],
    hosts: t.spec.routes?.hosts ?? [],
    pathPrefixes: t.spec.routes?.pathPrefixes ?? [],
  };
}

// What the gateway routes, who may route what, and the one interface through which the
// gateway reaches function instances: a backend that lists ready endpoints per revision and
// can be asked to wake one.
//
// Route ownership (resolveRoutes) is one pure function used by the gateway's Kubernetes
// backend, by `plinth dev` and by the operator (which writes the RouteConflict condition), so
// all three refuse the same claims with the same words:
//   - /fn/<ns>/ and /graphql/<ns>/ belong to namespace <ns>: no other namespace may claim a
//     path in them (nor /fn, /graphql or anything under /_/, the gateway's own).
//   - Any other path or host must be granted to the namespace's Tenant (spec.routes). A
//     namespace with no Tenant is one only cluster administrators can write to: it may claim
//     any path or host that no Tenant is granted.
//   - Two admissible claims on the same path or the same host: the older object holds it
//     (metadata.creationTimestamp, then namespace, name and kind); the other is not routed.
import { type FunctionObject, type GraphQLApiObject, graphqlPrefix, type TenantObject } from '@plinth/api';

export interface RouteTarget {
  revision: string;
  percent: number;
  tag?: string;
}

export interface Route {
  /** `namespace/name` of the Function. */
  function: string;
  /** Path prefix, e.g. /fn/default/hello; stripped before forwarding. */
  prefix: string;
  /** Requests for this host are routed here whatever their path. */
  host?: string;
  timeoutMs: number;
  targets: RouteTarget[];
}

export interface FunctionBackend {
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

/**
 * Decides which claims the gateway routes and why the others are refused. Pure: the same
 * claims and grants give the same answer in the gateway, the operator and `plinth dev`.
 */
export function resolveRoutes(claims: readonly RouteClaim[], grants: readonly RouteGrant[]): RouteResolution {
  // A namespace listed by several Tenants belongs to the oldest (the others report Conflict).
  const tenantOf = new Map<string, RouteGrant>();
  for (const g of [...grants].sort((a, b) => byAge(a, b, (x) => x.tenant))) {
    for (const ns of g.namespaces) if (!tenantOf.has(ns)) tenantOf.set(ns, g);
  }
  const grantedPrefixes = (g: RouteGrant) =>
    g.pathPrefixes.map(normalizePrefix).filter((p) => ![...NAMESPACE_TREES, GATEWAY_TREE].some((t) => within(p, t)));
  const pathGrants = grants.flatMap((g) => grantedPrefixes(g).map((prefix) => ({ prefix, tenant: g.tenant })));
  const hostGrants = grants.flatMap((g) => g.hosts.map((host) => ({ host, tenant: g.tenant })));

  /** Why this claim's namespace may not serve it, or undefined when it may. */
  const notAllowed = (c: RouteClaim): string | undefined => {
    const path = normalizePrefix(c.path);
    const problems: string[] = [];
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
        const tenant = tenantOf.get(c.namespace);
        if (tenant) {
          if (!grantedPrefixes(tenant).some((g) => within(path, g)))
            problems.push(
              `path ${c.path} is not among the path prefixes Tenant ${tenant.tenant} grants (${list(grantedPrefixes(tenant))})`,
            );
        } else {
          const other = pathGrants.find((g) => within(path, g.prefix));
          if (other)
            problems.push(
              `path ${c.path} is inside ${other.prefix}, granted to Tenant ${other.tenant}, and namespace ${c.namespace} belongs to no Tenant`,
            );
        }
      }
    }
    if (c.host) {
      const tenant = tenantOf.get(c.namespace);
      if (tenant) {
        if (!tenant.hosts.some((g) => hostGranted(g, c.host as string)))
          problems.push(`host ${c.host} is not among the hosts Tenant ${tenant.tenant} grants (${list(tenant.hosts)})`);
      } else {
        const other = hostGrants.find((g) => hostGranted(g.host, c.host as string));
        if (other)
          problems.push(
            `host ${c.host} is granted to Tenant ${other.tenant}, and namespace ${c.namespace} belongs to no Tenant`,
          );
      }
    }
    return problems.length ? problems.join('; ') : undefined;
  };

  const accepted = new Set<string>();
  const refused = new Map<string, RouteRefusal>();
  const pathHolder = new Map<string, RouteClaim>();
  const hostHolder = new Map<string, RouteClaim>();
  const disallowed: [RouteClaim, string][] = [];
  const tie = (c: RouteClaim) => `${c.namespace}/${c.name}/${c.kind}`;
  for (const c of [...claims].sort((a, b) => byAge(a, b, tie))) {
    const key = claimKey(c.kind, c.namespace, c.name);
    const why = notAllowed(c);
    if (why) {
      disallowed.push([c, why]);
      continue;
    }
    const path = normalizePrefix(c.path);
    const byPath = pathHolder.get(path);
    const byHost = c.host ? hostHolder.get(c.host) : undefined;
    if (byPath || byHost) {
      const held = [
        ...(byPath ? [`path ${c.path} is served by ${label(byPath)}`] : []),
        ...(byHost ? [`host ${c.host} is served by ${label(byHost)}`] : []),
      ];
      const holder = (byPath ?? byHost) as RouteClaim;
      refused.set(key, {
        reason: 'RouteConflict',
        message: `not routed: ${held.join('; ')}, which claimed it first`,
        holder: label(holder),
      });
      continue;
    }
    accepted.add(key);
    pathHolder.set(path, c);
    if (c.host) hostHolder.set(c.host, c);
  }
  for (const [c, why] of disallowed) {
    const holder = pathHolder.get(normalizePrefix(c.path)) ?? (c.host ? hostHolder.get(c.host) : undefined);
    refused.set(claimKey(c.kind, c.namespace, c.name), {
      reason: 'RouteConflict',
      message: `not routed: ${why}${holder ? `; ${label(holder)} serves it` : ''}`,
      ...(holder ? { holder: label(holder) } : {}),
    });
  }
  return { accepted, refused };
}

/** A Function's claim: its http.path (or default path) and http.host. */
export function functionClaim(fn: Pick<FunctionObject, 'metadata' | 'spec'>): RouteClaim {
  const namespace = fn.metadata.namespace ?? 'default';
  const name = fn.metadata.name ?? '';
  return {
    kind: 'Function',
    namespace,
    name,
    ...(fn.metadata.creationTimestamp ? { createdAt: fn.metadata.creationTimestamp } : {}),
    path: fn.spec.http?.path ?? defaultPrefix(namespace, name),
    ...(fn.spec.http?.host ? { host: fn.spec.http.host } : {}),
  };
}

/** A GraphQLApi's claim: its http.path (or /graphql/<namespace>/<name>) and http.host. */
export function graphqlApiClaim(api: Pick<GraphQLApiObject, 'metadata' | 'spec'>): RouteClaim {
  const namespace = api.metadata.namespace ?? 'default';
  const name = api.metadata.name ?? '';
  return {
    kind: 'GraphQLApi',
    namespace,
    name,
    ...(api.metadata.creationTimestamp ? { createdAt: api.metadata.creationTimestamp } : {}),
    path: graphqlPrefix({ metadata: { namespace, name }, spec: api.spec }),
    ...(api.spec.http?.host ? { host: api.spec.http.host } : {}),
  };
}

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

// What the gateway routes, and the one interface through which it reaches function
// instances: a backend that lists ready endpoints per revision and can be asked to wake one.

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

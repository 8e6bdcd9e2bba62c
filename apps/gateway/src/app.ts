// The function gateway. build(deps) returns a request listener and its state; listen() binds
// it. Per request: match a route (host, then longest path prefix), pick a revision by weight
// (or by `/@tag`), hold the request while a scaled-to-zero revision wakes (bounded, then 503),
// forward over a keep-alive pool with the function's timeout (504), and count everything.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { FunctionBackend, Route, RouteTarget } from '@plinth/faas';
import { type Logger, pino } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Agent, request, errors as undiciErrors } from 'undici';

export interface GatewayDeps {
  backend: FunctionBackend;
  logger?: Logger;
  registry?: Registry;
  /** Longest a request waits for a scaled-to-zero revision to get a ready instance (default 30 s). */
  coldStartTimeoutMs?: number;
  /** Keep-alive connections per instance (default 128). */
  connectionsPerInstance?: number;
  /**
   * Serve /_/metrics, /_/stats and /_/routes on the main listener too (default true, for
   * `plinth dev`). A cluster gateway sets false and serves them on `adminListener` only.
   */
  adminOnMainListener?: boolean;
  /**
   * Largest request body forwarded to a function, in bytes (default 10 MiB, DEFAULT_MAX_BODY_BYTES).
   * A larger Content-Length is answered 413 before the function is called; a chunked body is
   * held until it ends and answered 413 as soon as it grows past the limit, so the function
   * never sees an over-limit request.
   */
  maxBodyBytes?: number;
  /**
   * Most bytes of chunked request bodies held in memory at once, over all requests (default
   * 64 MiB, DEFAULT_MAX_BUFFERED_BYTES). A chunked body that would take more is answered 503
   * with Retry-After, so slow uploads cannot make the gateway hold maxBodyBytes each without
   * bound. Bodies with a Content-Length are streamed, never held.
   */
  maxBufferedBytes?: number;
  random?: () => number;
}

export interface Gateway {
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * For the server's 'checkContinue' event (requests with `Expect: 100-continue`): answers 413
   * at once when the declared body is over the limit, so the client never sends it; otherwise
   * sends 100 Continue and serves the request as `listener` does.
   */
  readonly checkContinue: (req: IncomingMessage, res: ServerResponse) => void;
  /** Health, metrics, stats and routes: for the cluster-internal admin port. */
  readonly adminListener: (req: IncomingMessage, res: ServerResponse) => void;
  readonly registry: Registry;
  /** In-flight requests per revision, for the autoscaler. */
  inflight(): Map<string, number>;
  /** Bytes of chunked request bodies held in memory now (at most maxBufferedBytes). */
  bufferedBytes(): number;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Seconds a client is told to wait when the buffered-body budget is spent. */
const BUSY_RETRY_AFTER_S = 1;
/** Declared bodies up to this size are read before forwarding, so the request can be retried. */
const REPLAYABLE_BODY_BYTES = 64 * 1024;
/** Instances one request is tried on when connections fail before anything was sent. */
const MAX_ATTEMPTS = 3;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Connect failures: the request never reached the function. */
const CONNECT_FAILED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Whether a failed upstream call may go to another instance: the body is still in hand (none, or
 * read into memory), and either the connection never opened, so nothing reached the function, or
 * the method is idempotent and the connection broke before any answer (an instance closing).
 */
export function retryable(e: unknown, method: string | undefined, body: unknown): boolean {
  if (body !== null && !Buffer.isBuffer(body)) return false;
  const code = (e as { code?: string }).code;
  // The connection never opened (a pod that went away: refused, unreachable, or silent until
  // the connect timeout): nothing reached the function, so any method may go elsewhere.
  if (code !== undefined && CONNECT_FAILED.has(code)) return true;
  return IDEMPOTENT.has(method ?? 'GET') && (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET');
}

// Never forwarded: hop-by-hop headers, and Expect (this server has already answered it with
// 100 Continue; undici refuses requests that carry it).
const HOP_BY_HOP = new Set([
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/**
 * The Host header as routes name hosts: lowercase, without a port or a trailing dot
 * (shop.example.com. and SHOP.example.com:443 are shop.example.com).
 */
export function normalizeHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  let end = host.length;
  // A port: digits after the last colon (not inside an IPv6 literal's brackets).
  let i = end - 1;
  while (i >= 0 && host.charCodeAt(i) >= 48 && host.charCodeAt(i) <= 57) i--;
  if (i > 0 && host.charCodeAt(i) === 58 && host.charCodeAt(i - 1) !== 58) end = i;
  while (end > 0 && host.charCodeAt(end - 1) === 46) end--;
  const h = end === host.length ? host : host.slice(0, end);
  for (let j = 0; j < h.length; j++) {
    const c = h.charCodeAt(j);
    if (c >= 65 && c <= 90) return h.toLowerCase();
  }
  return h;
}

/** Routes indexed for matching: built once per routes array (backends swap the array on change). */
interface RouteIndex {
  /** Exact host -> the first route for it, a fence only when no route has it. */
  hosts: Map<string, Route>;
  /** ".suffix" of a *.suffix grant -> its fence. */
  suffixes: Map<string, Route>;
  /** Prefix without trailing slashes -> the first route at it, a fence only when no route has it. */
  prefixes: Map<string, Route>;
}
const indexes = new WeakMap<readonly Route[], RouteIndex>();

function indexOf(routes: readonly Route[]): RouteIndex {
  let idx = indexes.get(routes);
  if (idx) return idx;
  idx = { hosts: new Map(), suffixes: new Map(), prefixes: new Map() };
  const put = (m: Map<string, Route>, key: string, r: Route) => {
    const had = m.get(key);
    if (!had || (had.fence && !r.fence)) m.set(key, r);
  };
  for (const r of routes) {
    if (r.host !== undefined) put(idx.hosts, r.host, r);
    if (r.hostSuffix !== undefined) put(idx.suffixes, r.hostSuffix, r);
    if (r.fence !== 'host') {
      let end = r.prefix.length;
      while (end > 1 && r.prefix.charCodeAt(end - 1) === 47) end--;
      put(idx.prefixes, r.prefix.slice(0, end), r);
    }
  }
  indexes.set(routes, idx);
  return idx;
}

/**
 * The route for a request: a route for its host; else, when a Tenant is granted the host
 * (exact or *.suffix, the longest suffix first), that host's fence (404), never path routing;
 * else the longest path prefix on a segment boundary, a route before a fence at the same
 * prefix. O(labels + segments) per request: map lookups, no scan of the routes.
 */
export function matchRoute(routes: readonly Route[], host: string | undefined, path: string): Route | undefined {
  const idx = indexOf(routes);
  const h = idx.hosts.size > 0 || idx.suffixes.size > 0 ? normalizeHost(host) : undefined;
  if (h !== undefined) {
    const byHost = idx.hosts.get(h);
    if (byHost) return byHost;
    if (idx.suffixes.size > 0) {
      for (let i = h.indexOf('.'); i >= 0; i = h.indexOf('.', i + 1)) {
        const fence = idx.suffixes.get(h.slice(i));
        if (fence) return fence;
      }
    }
  }
  let best: Route | undefined;
  if (path.charCodeAt(0) === 47) {
    for (let q = path; ; ) {
      best = idx.prefixes.get(q);
      if (best || q.length === 1) break;
      const i = q.lastIndexOf('/');
      q = i <= 0 ? '/' : q.slice(0, i);
    }
  }
  // /fn/<ns>/ and /graphql/<ns>/ are served only by routes inside them: a catch-all prefix such
  // as / never receives requests meant for a namespace's functions or APIs.
  if (
    best &&
    (path.startsWith('/fn/')
      ? !best.prefix.startsWith('/fn/')
      : path.startsWith('/graphql/') && !best.prefix.startsWith('/graphql/'))
  )
    return undefined;
  return best;
}

/** How much of `path` the route's prefix covers: all of the prefix when the path is under it, else 0. */
export function prefixLength(path: string, prefix: string): number {
  const p = prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (p === '/') return 0;
  return path === p || (path.startsWith(p) && path.charCodeAt(p.length) === 47) ? p.length : 0;
}

/** Weighted choice over targets with percent > 0; allocates nothing (it is on every request). */
export function pickTarget(targets: readonly RouteTarget[], random: () => number): RouteTarget | undefined {
  if (targets.length === 1) return targets[0]?.percent ? targets[0] : undefined;
  let total = 0;
  for (const t of targets) total += t.percent;
  let x = random() * total;
  let last: RouteTarget | undefined;
  for (const t of targets) {
    if (t.percent <= 0) continue;
    last = t;
    x -= t.percent;
    if (x < 0) return t;
  }
  return last;
}

/** 413, and the connection closed: the rest of the body is not read. */
function tooLarge(res: ServerResponse, fn: string, limit: number) {
  const text = JSON.stringify({ error: `request body is larger than ${limit} bytes, the most ${fn} accepts` });
  res.writeHead(413, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
  });
  res.end(text);
}

/** 503 with Retry-After, and the connection closed: the body is not read. */
function busy(res: ServerResponse) {
  const text = JSON.stringify({ error: 'the gateway is holding too many request bodies; retry shortly' });
  res.writeHead(503, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'retry-after': String(BUSY_RETRY_AFTER_S),
    connection: 'close',
  });
  res.end(text);
}

/** Bytes of request bodies held in memory, over all requests, up to a maximum. */
interface BodyBudget {
  /** Takes n bytes; false (taking nothing) when that would pass the maximum. */
  take(n: number): boolean;
  give(n: number): void;
}

/**
 * The whole body if it has at most `limit` bytes, its bytes taken from `budget` (the caller
 * gives them back); 'tooLarge' as soon as it has more, 'busy' as soon as the budget is spent
 * (then nothing stays taken).
 */
function readUpTo(req: IncomingMessage, limit: number, budget: BodyBudget): Promise<Buffer | 'tooLarge' | 'busy'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const stop = (why: 'tooLarge' | 'busy') => {
      done();
      req.pause();
      budget.give(n);
      chunks.length = 0;
      resolve(why);
    };
    const onData = (c: Buffer) => {
      if (n + c.length > limit) return stop('tooLarge');
      if (!budget.take(c.length)) return stop('busy');
      n += c.length;
      chunks.push(c);
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks, n));
    };
    const fail = (e: Error) => {
      done();
      budget.give(n);
      reject(e);
    };
    const onError = (e: Error) => fail(e);
    const onClose = () => {
      if (!req.complete) fail(new Error('client went away'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function json(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function build(deps: GatewayDeps): Gateway {
  const log = deps.logger ?? pino({ name: 'plinth-gateway', level: process.env.PLINTH_LOG_LEVEL ?? 'info' });
  const registry = deps.registry ?? new Registry();
  const random = deps.random ?? Math.random;
  const coldStartTimeoutMs = deps.coldStartTimeoutMs ?? 30_000;
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxBufferedBytes = deps.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  let bufferedBytes = 0;
  const budget: BodyBudget = {
    take: (n) => {
      if (bufferedBytes + n > maxBufferedBytes) return false;
      bufferedBytes += n;
      return true;
    },
    give: (n) => {
      bufferedBytes -= n;
    },
  };
  // Instances are in the cluster: one that does not answer a connect within 2 s is gone, and
  // the request goes to another (retryable).
  const agent = new Agent({
    connections: deps.connectionsPerInstance ?? 128,
    keepAliveTimeout: 60_000,
    pipelining: 1,
    connectTimeout: 2_000,
  });
  const inflight = new Map<string, number>();
  const rr = new Map<string, number>();

  const requests = new Counter({
    name: 'plinth_gateway_requests_total',
    help: 'Requests by function, revision and status code.',
    labelNames: ['function', 'revision', 'code'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'plinth_gateway_retries_total',
    help: 'Requests sent to another instance after a connection to the first failed before any answer.',
    labelNames: ['function'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'plinth_gateway_request_duration_seconds',
    help: 'Time from request to response end, cold starts included.',
    labelNames: ['function'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const coldStarts = new Histogram({
    name: 'plinth_gateway_cold_start_seconds',
    help: 'How long requests waited for a scaled-to-zero revision to become ready.',
    labelNames: ['function'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'plinth_gateway_inflight_requests',
    help: 'Requests being served, by revision.',
    labelNames: ['function', 'revision'] as const,
    registers: [registry],
    // Filled at scrape time from the counts the autoscaler reads, not per request.
    collect() {
      this.reset();
      const fnOf = new Map(
        deps.backend.routes().flatMap((r) => r.targets.map((t) => [t.revision, r.function] as const)),
      );
      for (const [revision, n] of inflight) this.set({ function: fnOf.get(revision) ?? '', revision }, n);
    },
  });
  new Gauge({
    name: 'plinth_gateway_buffered_body_bytes',
    help: 'Bytes of chunked request bodies held in memory (at most PLINTH_MAX_BUFFERED_BYTES).',
    registers: [registry],
    collect() {
      this.set(bufferedBytes);
    },
  });
  // Labelled children cached per key: label hashing stays off the request path.
  const requestCounters = new Map<string, ReturnType<typeof requests.labels>>();
  const latencyChildren = new Map<string, ReturnType<typeof latency.labels>>();
  const countRequest = (fn: string, revision: string, code: number) => {
    const key = `${revision}\0${code}`;
    let c = requestCounters.get(key);
    if (!c) {
      c = requests.labels(fn, revision, String(code));
      requestCounters.set(key, c);
    }
    c.inc();
  };
  const observeLatency = (fn: string, seconds: number) => {
    let h = latencyChildren.get(fn);
    if (!h) {
      h = latency.labels(fn);
      latencyChildren.set(fn, h);
    }
    h.observe(seconds);
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path.startsWith('/_/')) {
      if (path === '/_/health' || path === '/_/ready' || deps.adminOnMainListener !== false) return admin(path, res);
      return json(res, 404, { error: `${path} is served on the gateway's admin port` });
    }

    const route = matchRoute(deps.backend.routes(), req.headers.host, path);
    if (!route) return json(res, 404, { error: `no function serves ${path}` });
    if (route.fence === 'host') return json(res, 404, { error: `no function serves host ${req.headers.host}` });
    if (route.fence) return json(res, 404, { error: `no function serves ${path}` });
    // The prefix is stripped when the path is under it; a request matched by host alone keeps its path.
    const strip = prefixLength(path, route.prefix);
    let rest = path.slice(strip);
    let target: RouteTarget | undefined;
    const tag = rest.startsWith('/@') ? /^\/@([a-z0-9-]+)(\/.*)?$/.exec(rest) : null;
    if (tag) {
      target = route.targets.find((t) => t.tag === tag[1]);
      if (!target) return json(res, 404, { error: `function ${route.function} has no revision tagged "${tag[1]}"` });
      rest = tag[2] ?? '';
    } else {
      target = pickTarget(route.targets, random);
    }
    if (!target) return json(res, 503, { error: `function ${route.function} has no revision taking traffic` });
    const { revision } = target;
    const fn = route.function;

    inflight.set(revision, (inflight.get(revision) ?? 0) + 1);
    let code = 0;
    // One controller per request, aborted only if the client goes away; timeouts are undici's.
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort(new Error('client went away'));
    };
    res.once('close', onClose);
    let held = 0; // bytes of this request's body taken from the budget
    try {
      // The body limit, before any function is woken or called.
      let body: IncomingMessage | Buffer | null = null;
      if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') {
        const declared = req.headers['content-length'];
        // Chunked bodies, and small declared ones (so a refused connection can be retried on
        // another instance: undici destroys a streamed body when the connection fails).
        const small = declared !== undefined && Number(declared) <= REPLAYABLE_BODY_BYTES;
        if ((declared === undefined && req.headers['transfer-encoding'] !== undefined) || small) {
          // Chunked: held until it ends, so an over-limit body never reaches the function.
          let buffered: Buffer | 'tooLarge' | 'busy';
          try {
            buffered = await readUpTo(req, maxBodyBytes, budget);
          } catch {
            code = 499;
            return;
          }
          if (buffered === 'tooLarge') {
            code = 413;
            return tooLarge(res, fn, maxBodyBytes);
          }
          if (buffered === 'busy') {
            code = 503;
            log.warn({ fn, maxBufferedBytes }, 'request bodies held in memory reached the maximum: answered 503');
            return busy(res);
          }
          held = buffered.length;
          body = buffered;
        } else if (declared !== undefined && Number(declared) > maxBodyBytes) {
          code = 413;
          return tooLarge(res, fn, maxBodyBytes);
        } else {
          body = req;
        }
      }
      let endpoints = deps.backend.endpoints(revision);
      if (endpoints.length === 0) {
        const t0 = performance.now();
        try {
          await deps.backend.wake(revision, AbortSignal.any([abort.signal, AbortSignal.timeout(coldStartTimeoutMs)]));
        } catch (e) {
          code = abort.signal.aborted ? 499 : 503;
          if (code === 503) {
            const reason =
              (e as Error).name === 'TimeoutError'
                ? `did not become ready within ${coldStartTimeoutMs} ms`
                : (e as Error).message;
            log.warn({ fn, revision, err: (e as Error).message }, 'cold start failed');
            json(res, 503, { error: `function ${fn} is not available: ${reason}` });
          }
          return;
        }
        const waited = (performance.now() - t0) / 1000;
        coldStarts.observe({ function: fn }, waited);
        log.info({ fn, revision, coldStartMs: Math.round(waited * 1000) }, 'cold start');
        endpoints = deps.backend.endpoints(revision);
      }
      const i = (rr.get(revision) ?? 0) % Math.max(endpoints.length, 1);
      rr.set(revision, i + 1);
      let base = endpoints[i];
      if (!base) {
        code = 503;
        return json(res, 503, { error: `function ${fn} has no ready instance` });
      }
      const headers: Record<string, string | string[]> = {};
      for (const k in req.headers) {
        const v = req.headers[k];
        if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
      }
      headers['x-forwarded-host'] = req.headers.host ?? '';
      headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
      if (strip > 0) headers['x-forwarded-prefix'] = path.slice(0, strip);
      const { timeoutMs } = route;
      let upstream: Awaited<ReturnType<typeof request>> | undefined;
      const tried = new Set<string>();
      while (!upstream) {
        tried.add(base);
        try {
          upstream = await request(`${base}${rest || '/'}${q < 0 ? '' : url.slice(q)}`, {
            method: req.method as 'GET',
            headers,
            body,
            dispatcher: agent,
            signal: abort.signal,
            headersTimeout: route.timeoutMs,
            bodyTimeout: route.timeoutMs,
          });
          break;
        } catch (e) {
          if (abort.signal.aborted) {
            code = 499;
            return;
          }
          // An instance that went away (a rollout, a scale-down) before the gateway's view of
          // the endpoints caught up: another instance gets the request, when nothing was sent.
          const next = retryable(e, req.method, body)
            ? deps.backend.endpoints(revision).find((x) => !tried.has(x))
            : undefined;
          if (next && tried.size < MAX_ATTEMPTS) {
            retries.inc({ function: fn });
            log.info({ fn, revision, endpoint: base, err: (e as Error).message }, 'retrying on another instance');
            base = next;
            continue;
          }
          return upstreamFailed(e, base);
        }
      }
      function upstreamFailed(e: unknown, endpoint: string): void {
        if (e instanceof undiciErrors.HeadersTimeoutError) {
          code = 504;
          log.warn({ fn, revision, timeoutMs }, 'function timed out');
          json(res, 504, { error: `function ${fn} did not answer within ${timeoutMs} ms` });
          return;
        }
        code = 502;
        log.error({ fn, revision, err: (e as Error).message, endpoint }, 'upstream failed');
        json(res, 502, { error: `function ${fn} failed: ${(e as Error).message}` });
      }
      code = upstream.statusCode;
      const out: Record<string, string | string[]> = {};
      for (const k in upstream.headers) {
        const v = upstream.headers[k];
        if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      }
      const length = Number(upstream.headers['content-length'] ?? -1);
      try {
        if (length >= 0 && length <= 65536) {
          // Small, known-length bodies: one write instead of a stream pipeline.
          const body = Buffer.from(await upstream.body.arrayBuffer());
          res.writeHead(upstream.statusCode, out);
          res.end(body);
        } else {
          res.writeHead(upstream.statusCode, out);
          await pipeline(upstream.body, res);
        }
      } catch (e) {
        if (abort.signal.aborted) code = 499;
        else if (e instanceof undiciErrors.BodyTimeoutError) {
          code = 504;
          if (!res.headersSent)
            json(res, 504, { error: `function ${fn} stopped sending within ${route.timeoutMs} ms` });
          else res.destroy();
        } else {
          log.warn({ fn, revision, err: (e as Error).message }, 'response stream failed');
          if (!res.headersSent) json(res, 502, { error: `function ${fn} response failed: ${(e as Error).message}` });
          else res.destroy();
        }
      }
    } finally {
      budget.give(held);
      res.off('close', onClose);
      inflight.set(revision, (inflight.get(revision) ?? 1) - 1);
      countRequest(fn, revision, code);
      const seconds = (performance.now() - started) / 1000;
      observeLatency(fn, seconds);
      if (log.isLevelEnabled('debug'))
        log.debug({ fn, revision, method: req.method, path, code, ms: seconds * 1000 }, 'request');
    }
  }

  async function admin(path: string, res: ServerResponse): Promise<void> {
    if (path === '/_/health' || path === '/_/ready') return json(res, 200, { status: 'ok' });
    if (path === '/_/metrics') {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      return void res.end(text);
    }
    if (path === '/_/routes') return json(res, 200, deps.backend.routes());
    if (path === '/_/stats') return json(res, 200, { inflight: Object.fromEntries(inflight) });
    return json(res, 404, { error: `unknown gateway endpoint ${path}` });
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch((e: unknown) => {
      log.error({ err: e }, 'gateway error');
      if (!res.headersSent) json(res, 500, { error: 'gateway error' });
      else res.destroy();
    });
  };

  return {
    adminListener: (req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      admin(path, res).catch((e: unknown) => {
        log.error({ err: e }, 'admin endpoint failed');
        if (!res.headersSent) json(res, 500, { error: 'gateway error' });
      });
    },
    checkContinue: (req, res) => {
      if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const route = matchRoute(deps.backend.routes(), req.headers.host, path);
        return tooLarge(res, route?.function || 'the gateway', maxBodyBytes);
      }
      res.writeContinue();
      listener(req, res);
    },
    listener,
    registry,
    inflight: () => new Map(inflight),
    bufferedBytes: () => bufferedBytes,
    close: () => agent.close(),
  };
}

/** Binds the gateway; port 0 picks a free one. Resolves with the server and its address. */
export function listen(
  gateway: Gateway,
  opts: { port: number; host?: string },
): Promise<{ server: Server; url: string }> {
  const server = createServer({ keepAliveTimeout: 65_000 }, gateway.listener);
  server.on('checkContinue', gateway.checkContinue);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      const addr = server.address() as AddressInfo;
      resolve({ server, url: `http://${addr.address}:${addr.port}` });
    });
  });
}

export { gatewayAccess, KubeBackend, type KubeBackendOptions } from './kube-backend.ts';

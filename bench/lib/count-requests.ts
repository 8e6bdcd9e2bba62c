// Counts this process's HTTP requests to one origin (the Kubernetes API server), as the client
// sends them: a preload (`node --import ./bench/lib/count-requests.ts app.ts`) that subscribes
// to undici's diagnostics channels, so the code it measures is not changed. Both Node's fetch
// and the undici package publish on these channels; @plinth/kube's client and client-node's
// watches use undici.
//   BENCH_COUNT_ORIGIN  the origin to count (e.g. https://127.0.0.1:26443); all origins if unset
//   BENCH_COUNT_FILE    where the counts go, as JSON, when the process exits (optional)
// In the process: globalThis[Symbol.for('plinth.bench.requests')] has snapshot() and reset().
// Requests are keyed `VERB resource[/subresource]`: LIST and WATCH are GETs of a collection
// (WATCH with watch=true), APPLY a server-side apply PATCH.
import { channel } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';

export interface RequestCounts {
  total: number;
  watches: number;
  /** `VERB resource[/subresource]` -> requests, e.g. `APPLY deployments`, `PATCH functions/status`. */
  byKey: Record<string, number>;
  /** Summed milliseconds from each request's creation to its response headers, per key. */
  msByKey: Record<string, number>;
  /** HTTP status of each response that arrived, e.g. 200, 201, 404, 409, 429. */
  byStatus: Record<string, number>;
  /** Requests that failed without a response (connection errors, aborts). */
  errors: number;
}

export interface RequestCounter {
  snapshot(): RequestCounts;
  reset(): void;
}

export const COUNTER = Symbol.for('plinth.bench.requests');

interface UndiciRequest {
  origin?: string | URL;
  method?: string;
  path?: string;
  headers?: string[] | string;
}

const wanted = process.env.BENCH_COUNT_ORIGIN ? new URL(process.env.BENCH_COUNT_ORIGIN).origin : undefined;
const fresh = (): RequestCounts => ({ total: 0, watches: 0, byKey: {}, msByKey: {}, byStatus: {}, errors: 0 });
let counts = fresh();
/** Each counted request's key and start, until its response headers arrive. */
const counted = new WeakMap<object, { key: string; t0: number }>();

function originOf(o: string | URL | undefined): string | undefined {
  try {
    return o === undefined ? undefined : new URL(String(o)).origin;
  } catch {
    return undefined;
  }
}

function contentType(headers: string[] | string | undefined): string {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2)
      if (headers[i]?.toLowerCase() === 'content-type') return headers[i + 1] ?? '';
    return '';
  }
  return /content-type:\s*([^\r\n]*)/i.exec(headers ?? '')?.[1] ?? '';
}

/** `VERB resource[/subresource]` for a request to the API server. */
export function keyOf(method: string, path: string, type: string): { key: string; watch: boolean } {
  const [p = '', q = ''] = path.split('?');
  const query = new URLSearchParams(q);
  let parts = p.split('/').filter(Boolean);
  let watch = query.get('watch') === 'true' || query.get('watch') === '1';
  // /api/v1/..., /apis/<group>/<version>/...; the legacy /watch/ prefix too.
  parts = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : parts;
  if (parts[0] === 'watch') {
    watch = true;
    parts = parts.slice(1);
  }
  if (parts[0] === 'namespaces' && parts.length >= 3) parts = parts.slice(2);
  const [resource = p, name, sub] = parts;
  const verb =
    method === 'GET'
      ? watch
        ? 'WATCH'
        : name
          ? 'GET'
          : 'LIST'
      : method === 'PATCH' && type.startsWith('application/apply-patch')
        ? 'APPLY'
        : method === 'POST'
          ? 'CREATE'
          : method === 'PUT'
            ? 'UPDATE'
            : method;
  return { key: `${verb} ${resource}${sub ? `/${sub}` : ''}`, watch };
}

channel('undici:request:create').subscribe((message) => {
  const request = (message as { request: UndiciRequest }).request;
  if (wanted && originOf(request.origin) !== wanted) return;
  const { key, watch } = keyOf(request.method ?? 'GET', request.path ?? '', contentType(request.headers));
  counted.set(request as object, { key, t0: performance.now() });
  counts.total++;
  if (watch) counts.watches++;
  counts.byKey[key] = (counts.byKey[key] ?? 0) + 1;
});
channel('undici:request:headers').subscribe((message) => {
  const { request, response } = message as { request: object; response: { statusCode?: number } };
  const started = counted.get(request);
  if (!started) return;
  counts.msByKey[started.key] = (counts.msByKey[started.key] ?? 0) + performance.now() - started.t0;
  const status = String(response.statusCode ?? 0);
  counts.byStatus[status] = (counts.byStatus[status] ?? 0) + 1;
});
channel('undici:request:error').subscribe((message) => {
  if (counted.has((message as { request: object }).request)) counts.errors++;
});

const counter: RequestCounter = {
  snapshot: () => structuredClone(counts),
  reset: () => {
    counts = fresh();
  },
};
(globalThis as Record<symbol, unknown>)[COUNTER] = counter;

if (process.env.BENCH_COUNT_FILE) {
  const file = process.env.BENCH_COUNT_FILE;
  process.on('exit', () => writeFileSync(file, `${JSON.stringify(counts)}\n`));
}

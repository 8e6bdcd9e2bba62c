// The gateway in process, in front of real runtime processes in all four languages
// (LocalBackend): answers, scale from zero under a burst, timeouts, metrics.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gatewayStatsSource, LocalBackend, type LocalFunction, loadFunctionManifests } from '@plinth/faas';
import { build, type Gateway, listen, matchRoute, pickTarget } from '@plinth/gateway';
import { pino } from 'pino';

const root = join(import.meta.dirname, '..', '..', '..');
const manifests = [
  ...loadFunctionManifests(join(root, 'examples')),
  ...loadFunctionManifests(join(import.meta.dirname, 'fixtures')),
];
const functions: LocalFunction[] = manifests.map((m) => ({
  namespace: m.object.metadata.namespace ?? 'default',
  name: m.object.metadata.name ?? '',
  spec: m.object.spec,
  codeDir: m.dir,
}));

let backend: LocalBackend;
let gateway: Gateway;
let server: Server;
let base: string;
const events: string[] = [];

before(async () => {
  backend = new LocalBackend({
    cacheDir: join(root, '.tmp', 'test-gateway'),
    poolSize: 1,
    onEvent: (e) => events.push(`${e.revision} ${e.what}${e.error ? `: ${e.error}` : ''}`),
  });
  await backend.setFunctions(functions);
  await backend.warm();
  gateway = build({ backend, logger: pino({ level: 'silent' }), coldStartTimeoutMs: 120_000 });
  ({ server, url: base } = await listen(gateway, { port: 0 }));
});

after(async () => {
  server?.close();
  await gateway?.close();
  await backend?.close();
});

interface Answer {
  status: number;
  body: { message?: string; error?: string; [k: string]: unknown };
}

async function get(path: string): Promise<Answer> {
  const res = await fetch(base + path);
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

describe('gateway with real runtimes', () => {
  for (const runtime of ['node', 'python', 'go', 'java']) {
    it(`routes GET and POST to the ${runtime} function and returns its answers`, async () => {
      assert.deepEqual(await get(`/fn/default/hello-${runtime}?name=Ada`), {
        status: 200,
        body: { message: 'Hello, Ada', runtime },
      });
      const res = await fetch(`${base}/fn/default/hello-${runtime}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: 42, list: [1, 'two'] }),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { echo: { n: 42, list: [1, 'two'] }, runtime });
    });
  }

  it('serves a burst of 60 concurrent requests to a function scaled to zero, losing none', async () => {
    await backend.tick(new Map()); // make sure nothing is running for a fresh revision
    const fresh = functions.find((f) => f.name === 'hello-python');
    assert.ok(fresh);
    // a new revision (new env) starts at zero
    await backend.setFunctions(
      functions.map((f) => (f === fresh ? { ...f, spec: { ...f.spec, env: [{ name: 'GREETING', value: 'Hi' }] } } : f)),
    );
    const revision = backend.routes().find((r) => r.function === 'default/hello-python')?.targets[0]?.revision ?? '';
    assert.deepEqual(backend.endpoints(revision), []);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => get(`/fn/default/hello-python?name=n${i}`)));
    assert.deepEqual(
      results.map((r) => r.status),
      Array(60).fill(200),
    );
    assert.deepEqual(
      results.map((r) => r.body.message),
      Array.from({ length: 60 }, (_, i) => `Hi, n${i}`),
    );
    assert.equal(backend.endpoints(revision).length, 1, 'one instance woke for the whole burst');
    const metrics = await (await fetch(`${base}/_/metrics`)).text();
    assert.match(metrics, /plinth_gateway_cold_start_seconds_count\{function="default\/hello-python"\} [1-9]/);
  });

  it('answers 504 when a function exceeds its timeout, and keeps serving', async () => {
    const t0 = Date.now();
    const slow = await get('/fn/default/slow?ms=3000');
    assert.equal(slow.status, 504);
    assert.match(slow.body.error ?? '', /did not answer within 1000 ms/);
    assert.ok(Date.now() - t0 < 2900, 'the gateway must not wait for the slow function');
    const fast = await get('/fn/default/slow?ms=10');
    assert.deepEqual(fast, { status: 200, body: { slept: 10 } });
    assert.equal((await get('/fn/default/hello-node')).status, 200);
    assert.equal((await fetch(`${base}/_/health`)).status, 200);
  });

  it('reports in-flight requests per revision to autoscalers through /_/stats', async () => {
    const pending = get('/fn/default/slow?ms=600');
    await new Promise((r) => setTimeout(r, 200));
    const unreachable: string[] = [];
    const stats = await gatewayStatsSource([base, 'http://127.0.0.1:9'], (u) => unreachable.push(u))();
    const slowRevision = backend.routes().find((r) => r.function === 'default/slow')?.targets[0]?.revision ?? '';
    assert.equal(stats.get(slowRevision), 1);
    assert.deepEqual(unreachable, ['http://127.0.0.1:9']);
    assert.equal((await pending).status, 200);
  });

  it('keeps metrics, stats and routes off the public listener when told to', async () => {
    const locked = build({ backend, logger: pino({ level: 'silent' }), adminOnMainListener: false });
    const pub = await listen(locked, { port: 0 });
    try {
      assert.equal((await fetch(`${pub.url}/_/metrics`)).status, 404);
      assert.equal((await fetch(`${pub.url}/_/stats`)).status, 404);
      assert.equal((await fetch(`${pub.url}/_/health`)).status, 200);
      assert.equal((await fetch(`${pub.url}/fn/default/hello-node`)).status, 200);
    } finally {
      pub.server.close();
      await locked.close();
    }
  });

  it('says which path has no function', async () => {
    assert.deepEqual(await get('/fn/default/nope'), {
      status: 404,
      body: { error: 'no function serves /fn/default/nope' },
    });
  });

  it('counts requests per function, revision and code', async () => {
    const metrics = await (await fetch(`${base}/_/metrics`)).text();
    assert.match(
      metrics,
      /plinth_gateway_requests_total\{function="default\/slow",revision="slow-[0-9a-f]+",code="504"\} 1/,
    );
    assert.match(metrics, /plinth_gateway_request_duration_seconds_bucket/);
  });
});

describe('routing rules', () => {
  const routes = [
    { function: 'a/x', prefix: '/fn/a/x', timeoutMs: 1000, targets: [] },
    { function: 'a/y', prefix: '/fn/a/x/y', timeoutMs: 1000, targets: [] },
    { function: 'a/h', prefix: '/fn/a/h', host: 'api.example.com', timeoutMs: 1000, targets: [] },
  ];
  it('prefers the host, then the longest prefix on a segment boundary', () => {
    assert.equal(matchRoute(routes, 'api.example.com:8080', '/anything')?.function, 'a/h');
    assert.equal(matchRoute(routes, undefined, '/fn/a/x/y/z')?.function, 'a/y');
    assert.equal(matchRoute(routes, undefined, '/fn/a/x')?.function, 'a/x');
    assert.equal(matchRoute(routes, undefined, '/fn/a/xy'), undefined);
  });

  it('splits traffic by percent', () => {
    const targets = [
      { revision: 'r1', percent: 90 },
      { revision: 'r2', percent: 10 },
      { revision: 'r3', percent: 0 },
    ];
    const counts: Record<string, number> = { r1: 0, r2: 0, r3: 0 };
    for (let i = 0; i < 1000; i++) {
      const r = pickTarget(targets, () => i / 1000)?.revision ?? '';
      counts[r] = (counts[r] ?? 0) + 1;
    }
    assert.deepEqual(counts, { r1: 900, r2: 100, r3: 0 });
  });
});

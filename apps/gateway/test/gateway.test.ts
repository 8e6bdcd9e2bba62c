// The gateway in process, in front of real runtime processes in all four languages
// (LocalBackend): answers, scale from zero under a burst, timeouts, metrics, request bodies
// (Expect: 100-continue, the body limit, the budget of bodies held in memory), routing rules
// (hosts normalized, fences for granted prefixes and hosts).
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type FunctionBackend,
  gatewayStatsSource,
  LocalBackend,
  type LocalFunction,
  loadFunctionManifests,
} from '@plinth/faas';
import { build, type Gateway, listen, matchRoute, normalizeHost, pickTarget, prefixLength } from '@plinth/gateway';
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
        body: { message: 'Hello, Ada', slug: 'ada', runtime },
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

interface Sent {
  status: number;
  body: { error?: string; bytes?: number; calls?: number; expect?: string | null };
  /** Whether the gateway answered 100 Continue. */
  continued: boolean;
}

/**
 * A POST with node:http, as curl would send it: `body` after 100 Continue when `expect` is
 * set (else at once), or `chunks` x 64 KiB chunked, stopping as soon as an answer comes.
 */
function send(url: string, opts: { headers?: Record<string, string>; body?: Buffer; chunks?: number }): Promise<Sent> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let continued = false;
    let answered = false;
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      method: 'POST',
      agent: false,
      headers: {
        ...(opts.body && opts.chunks === undefined ? { 'content-length': String(opts.body.length) } : {}),
        ...opts.headers,
      },
    });
    req.on('continue', () => {
      continued = true;
      req.end(opts.body);
    });
    req.on('response', async (res) => {
      answered = true;
      let text = '';
      for await (const c of res) text += c;
      resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), continued });
      req.destroy();
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (opts.chunks !== undefined) {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let n = 0;
      const write = () => {
        while (!answered && n < (opts.chunks ?? 0)) {
          n++;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        if (!answered) req.end();
      };
      write();
    } else if (opts.headers?.expect) req.flushHeaders();
    else if (opts.body) req.end(opts.body);
    else req.flushHeaders(); // headers only: the answer must not wait for the body
  });
}

const calls = async () => Number((await get('/fn/default/echo')).body.calls);

describe('request bodies', () => {
  const MiB = 1024 * 1024;

  it('answers a body over 1 MiB sent with Expect: 100-continue, as curl sends it (not forwarding Expect)', async () => {
    const body = Buffer.alloc(2 * MiB + 1, 'a');
    const sent = await send(`${base}/fn/default/echo`, { headers: { expect: '100-continue' }, body });
    assert.deepEqual(sent, {
      status: 200,
      body: { bytes: 2 * MiB + 1, calls: sent.body.calls, expect: null },
      continued: true,
    });
  });

  it('answers 413 for a body over the limit, Content-Length or chunked, and the function sees none of them', async () => {
    const small = build({ backend, logger: pino({ level: 'silent' }), maxBodyBytes: MiB });
    const gw = await listen(small, { port: 0 });
    try {
      const url = `${gw.url}/fn/default/echo`;
      const before = await calls();
      const refused = {
        status: 413,
        body: { error: `request body is larger than ${MiB} bytes, the most default/echo accepts` },
      };
      // Declared too large: answered on the headers, before any byte of body.
      assert.deepEqual(await send(url, { headers: { 'content-length': String(MiB + 1) } }), {
        ...refused,
        continued: false,
      });
      // With Expect: 100-continue the client is told before it sends the body.
      assert.deepEqual(await send(url, { headers: { expect: '100-continue' }, body: Buffer.alloc(50 * MiB) }), {
        ...refused,
        continued: false,
      });
      // Chunked, no length: cut off once it grows past the limit (the client sends up to 64 MiB).
      assert.deepEqual(await send(url, { chunks: 1024 }), { ...refused, continued: false });
      assert.equal(await calls(), before, 'the function was not called for any over-limit request');
      // At the limit, chunked: held whole, then forwarded.
      const atLimit = await send(url, { chunks: 16 });
      assert.equal(atLimit.status, 200);
      assert.equal(atLimit.body.bytes, MiB);
      assert.equal(atLimit.body.calls, before + 1);
      const metrics = await (await fetch(`${gw.url}/_/metrics`)).text();
      assert.match(
        metrics,
        /plinth_gateway_requests_total\{function="default\/echo",revision="echo-[0-9a-f]+",code="413"\} 2/,
      );
    } finally {
      gw.server.close();
      await small.close();
    }
  });
});

describe('the budget of request bodies held in memory', () => {
  const KiB = 1024;
  /** A chunked POST that sends `chunks` x 64 KiB and then waits until `finish()` is called. */
  function slowUpload(url: string, chunks: number) {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false });
    const answer = new Promise<{ status: number; retryAfter?: string; body: Sent['body'] }>((resolve, reject) => {
      req.on('response', async (res) => {
        let text = '';
        for await (const c of res) text += c;
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: JSON.parse(text) });
      });
      req.on('error', reject);
    });
    const sent = new Promise<void>((resolve) => {
      let n = 0;
      const write = () => {
        while (n < chunks) {
          n++;
          if (!req.write(Buffer.alloc(64 * KiB, 'u'))) return void req.once('drain', write);
        }
        resolve();
      };
      write();
    });
    return {
      answer,
      sent,
      finish: () => req.end(),
      abort: () => {
        answer.catch(() => {}); // the client going away is the point
        req.destroy();
      },
    };
  }

  it('answers 503 with Retry-After once slow chunked uploads hold the budget; others still pass; all of it comes back', async () => {
    // 1 MiB per body, 1.5 MiB held at most: two slow 640 KiB uploads fit, a third does not.
    const gw = build({
      backend,
      logger: pino({ level: 'silent' }),
      maxBodyBytes: 1024 * KiB,
      maxBufferedBytes: 1536 * KiB,
    });
    const { server: s, url } = await listen(gw, { port: 0 });
    try {
      const target = `${url}/fn/default/echo`;
      const before = await calls();
      // The attack: uploads that send most of a body and then hold on.
      const slow = [slowUpload(target, 10), slowUpload(target, 10)];
      await Promise.all(slow.map((u) => u.sent));
      await eventuallyTrue(() => gw.bufferedBytes() === 1280 * KiB);
      const third = slowUpload(target, 10);
      const refused = await third.answer;
      assert.deepEqual(refused, {
        status: 503,
        retryAfter: '1',
        body: { error: 'the gateway is holding too many request bodies; retry shortly' },
      });
      third.abort();
      assert.equal(gw.bufferedBytes(), 1280 * KiB, 'the refused upload gave back what it took');
      // The victim: a request with a Content-Length is streamed, not held, and still served.
      const victim = await send(target, { body: Buffer.alloc(512 * KiB, 'v') });
      assert.equal(victim.status, 200);
      assert.equal(victim.body.bytes, 512 * KiB);
      // One slow upload goes away, the other finishes: the budget comes back whole.
      slow[0]?.abort();
      slow[1]?.finish();
      assert.equal((await slow[1]?.answer)?.status, 200);
      await eventuallyTrue(() => gw.bufferedBytes() === 0);
      assert.equal((await send(target, { chunks: 16 })).status, 200, 'a chunked body fits again');
      assert.equal(await calls(), before + 3, 'the refused upload never reached the function');
      assert.match(await (await fetch(`${url}/_/metrics`)).text(), /plinth_gateway_buffered_body_bytes 0/);
    } finally {
      s.close();
      await gw.close();
    }
  });
});

async function eventuallyTrue(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

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

  it('strips the prefix from paths under it only: a request matched by host keeps its path', () => {
    assert.equal(prefixLength('/fn/a/h/x', '/fn/a/h'), 7);
    assert.equal(prefixLength('/fn/a/h', '/fn/a/h'), 7);
    assert.equal(prefixLength('/login', '/fn/a/h'), 0);
    assert.equal(prefixLength('/fn/a/hx', '/fn/a/h'), 0);
    assert.equal(prefixLength('/shop/x', '/shop/'), 5);
    assert.equal(prefixLength('/about', '/'), 0);
  });

  it("never lets a prefix outside /fn/<ns>/ or /graphql/<ns>/ catch a namespace's requests", () => {
    const withRoot = [...routes, { function: 'ops/site', prefix: '/', timeoutMs: 1000, targets: [] }];
    assert.equal(matchRoute(withRoot, undefined, '/about')?.function, 'ops/site');
    assert.equal(matchRoute(withRoot, undefined, '/fn/a/x/z')?.function, 'a/x');
    assert.equal(matchRoute(withRoot, undefined, '/fn/a/gone'), undefined);
    assert.equal(matchRoute(withRoot, undefined, '/graphql/a/api'), undefined);
  });

  it('normalizes the Host: case, port and trailing dot', () => {
    assert.equal(normalizeHost('Shop.Example.COM.'), 'shop.example.com');
    assert.equal(normalizeHost('shop.example.com.:8443'), 'shop.example.com');
    assert.equal(normalizeHost('shop.example.com:'), 'shop.example.com');
    assert.equal(normalizeHost('[::1]:8080'), '[::1]');
    assert.equal(normalizeHost('[::1]'), '[::1]');
    assert.equal(normalizeHost('10.0.0.1'), '10.0.0.1');
    assert.equal(normalizeHost(undefined), undefined);
    assert.equal(matchRoute(routes, 'API.example.com.:443', '/x')?.function, 'a/h');
  });

  // Tenant a is granted shop.example.com, *.a.example.com and /shop; ops serves / and all hosts.
  const fenced = [
    { function: 'ops/site', prefix: '/', timeoutMs: 1000, targets: [{ revision: 'site', percent: 100 }] },
    { function: 'a/cart', prefix: '/shop/cart', timeoutMs: 1000, targets: [{ revision: 'cart', percent: 100 }] },
    { function: 'a/idle', prefix: '/shop', host: 'idle.a.example.com', timeoutMs: 1000, targets: [] },
    { function: '', prefix: '/shop', fence: 'path' as const, timeoutMs: 0, targets: [] },
    { function: '', prefix: '/', host: 'shop.example.com', fence: 'host' as const, timeoutMs: 0, targets: [] },
    { function: '', prefix: '/', hostSuffix: '.a.example.com', fence: 'host' as const, timeoutMs: 0, targets: [] },
  ];
  it("never lets a granted host's requests fall through to path routing", () => {
    for (const host of ['shop.example.com', 'SHOP.example.com.', 'x.a.example.com:8080', 'a.b.a.example.com']) {
      const r = matchRoute(fenced, host, '/about');
      assert.equal(r?.fence, 'host', host);
    }
    // A host route beats a wildcard fence; it holds its host even with no traffic (503, not ops').
    assert.equal(matchRoute(fenced, 'idle.a.example.com', '/about')?.function, 'a/idle');
    assert.equal(matchRoute(fenced, 'other.example.com', '/about')?.function, 'ops/site');
    assert.equal(
      matchRoute(fenced, 'a.example.com', '/about')?.function,
      'ops/site',
      '*.suffix is below the suffix only',
    );
  });

  it("never lets a granted prefix's requests fall through to a shorter prefix", () => {
    assert.equal(matchRoute(fenced, undefined, '/shop/cart/x')?.function, 'a/cart');
    assert.equal(
      matchRoute(fenced, undefined, '/shop/checkout')?.function,
      'a/idle',
      'the holder of /shop, no traffic',
    );
    const withoutHolder = fenced.filter((r) => r.function !== 'a/idle');
    assert.equal(matchRoute(withoutHolder, undefined, '/shop/checkout')?.fence, 'path');
    assert.equal(matchRoute(withoutHolder, undefined, '/shop')?.fence, 'path');
    assert.equal(matchRoute(withoutHolder, undefined, '/shopping')?.function, 'ops/site');
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

describe('an instance that went away', () => {
  // A real refused connection: a port that was bound, then closed, on this machine.
  async function closedPort(): Promise<string> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address() as AddressInfo;
    await new Promise((r) => s.close(r));
    return `http://127.0.0.1:${port}`;
  }

  it('sends the request to another instance when the first refuses the connection, unless the body was streamed', async () => {
    const live = createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(JSON.stringify({ method: req.method, bytes: n })));
    });
    await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
    const dead = await closedPort();
    const alive = `http://127.0.0.1:${(live.address() as AddressInfo).port}`;
    const twoInstances: FunctionBackend = {
      routes: () => [
        {
          function: 'default/rolling',
          prefix: '/fn/default/rolling',
          timeoutMs: 5_000,
          targets: [{ revision: 'default/rolling-00001', percent: 100 }],
        },
      ],
      // The gateway's view lags: the instance that stopped is still listed, first.
      endpoints: () => [dead, alive],
      wake: async () => {},
    };
    const gw = build({ backend: twoInstances, logger: pino({ level: 'silent' }) });
    const { server: s, url } = await listen(gw, { port: 0 });
    try {
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`${url}/fn/default/rolling`);
        assert.deepEqual([r.status, await r.json()], [200, { method: 'GET', bytes: 0 }]);
        const p = await fetch(`${url}/fn/default/rolling`, { method: 'POST', body: 'x'.repeat(1000) });
        assert.deepEqual([p.status, await p.json()], [200, { method: 'POST', bytes: 1000 }]);
      }
      const metrics = await gw.registry.metrics();
      assert.match(
        metrics,
        /plinth_gateway_retries_total\{function="default\/rolling"\} 4/,
        'half the requests met the dead instance first',
      );
      // Over 64 KiB the body streams to the instance as it arrives: gone with the failed
      // connection, so it cannot be sent again; the client is told which instance failed.
      const answers = [];
      for (let i = 0; i < 2; i++) {
        const big = await fetch(`${url}/fn/default/rolling`, { method: 'POST', body: 'y'.repeat(1024 * 1024) });
        answers.push([big.status, ((await big.json()) as { error?: string; bytes?: number }).error ?? 'served']);
      }
      assert.deepEqual(
        answers.map(([status]) => status).sort(),
        [200, 502],
        `one of two streamed bodies met the dead instance: ${JSON.stringify(answers)}`,
      );
      assert.match(String(answers.find(([s]) => s === 502)?.[1]), /function default\/rolling failed: .*ECONNREFUSED/);
    } finally {
      s.close();
      live.close();
      await gw.close();
    }
  });
});

// The runtime contract (README.md beside this file), checked against every runtime's real
// process: health and readiness, errors as JSON 500s, status and headers passed through, the
// warm-pool specialization protocol, and a graceful SIGTERM drain.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  buildGo,
  buildJava,
  type Instance,
  interpretedRuntime,
  type ProcessSpec,
  startProcess,
  waitHttp,
} from '@plinth/faas';

const fixtures = join(import.meta.dirname, 'fixtures');
const cache = join(import.meta.dirname, '..', '..', '.tmp', 'conformance');
const running: Instance[] = [];
after(async () => {
  await Promise.all(running.map((i) => i.stop(0)));
});

const loaded: Record<string, () => Promise<ProcessSpec>> = {
  node: async () => ({
    ...interpretedRuntime('node'),
    env: { PLINTH_FUNCTION_DIR: join(fixtures, 'node'), PLINTH_HANDLER: 'handler.default' },
  }),
  python: async () => ({
    ...interpretedRuntime('python'),
    env: { PLINTH_FUNCTION_DIR: join(fixtures, 'python'), PLINTH_HANDLER: 'handler.handle' },
  }),
  go: () => buildGo(join(fixtures, 'go'), 'Handle', cache),
  java: () => buildJava(join(fixtures, 'java'), 'Handler', cache),
};

async function start(runtime: string): Promise<Instance> {
  const spec = await (loaded[runtime] as () => Promise<ProcessSpec>)();
  const instance = await startProcess({ ...spec, env: { ...spec.env, PLINTH_DRAIN_SECONDS: '5' } });
  running.push(instance);
  await waitHttp(instance, '/_/ready', 30_000);
  return instance;
}

for (const runtime of Object.keys(loaded)) {
  describe(`${runtime} runtime`, () => {
    it('answers health and readiness, passes status, headers and body through, and turns errors into JSON 500s', async () => {
      const fn = await start(runtime);
      assert.equal((await fetch(`${fn.url}/_/health`)).status, 200);
      assert.equal((await fetch(`${fn.url}/_/ready`)).status, 200);
      const echo = await fetch(`${fn.url}/echo`, { method: 'POST', body: 'payload' });
      assert.equal(echo.status, 201);
      assert.equal(echo.headers.get('x-fixture'), runtime);
      assert.equal(await echo.text(), 'payload');
      // A streamed (chunked) request body arrives whole.
      const chunked = await fetch(`${fn.url}/echo`, {
        method: 'POST',
        body: new Blob(['part one, ', 'part two']).stream(),
        duplex: 'half',
      } as RequestInit);
      assert.equal(await chunked.text(), 'part one, part two');
      const fail = await fetch(`${fn.url}/fail`);
      assert.equal(fail.status, 500);
      assert.match(((await fail.json()) as { error: string }).error, /fixture failure/);
      assert.equal(await (await fetch(`${fn.url}/`)).text(), 'ok', 'the process survives a failing request');
      await fn.stop();
    });

    it('finishes in-flight requests on SIGTERM, then exits 0', async () => {
      const fn = await start(runtime);
      const inflight = fetch(`${fn.url}/sleep?ms=800`).then(async (r) => ({ status: r.status, body: await r.text() }));
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      void fn.stop(10_000); // SIGTERM; SIGKILL only after 10 s
      assert.deepEqual(await inflight, { status: 200, body: 'slept 800' });
      const code = await fn.exited;
      assert.ok(code === 0 || code === 143 || code === 'SIGTERM', `exit ${code}`);
      assert.ok(Date.now() - t0 < 5000, 'exits once drained, not at the drain deadline');
    });
  });
}

describe('warm-pool specialization (node, python)', () => {
  for (const runtime of ['node', 'python'] as const) {
    it(`${runtime}: not ready until specialized; 400 on a bad body; 409 on a second specialization`, async () => {
      const fn = await startProcess(interpretedRuntime(runtime));
      running.push(fn);
      await waitHttp(fn, '/_/health', 15_000);
      assert.equal((await fetch(`${fn.url}/_/ready`)).status, 503);
      assert.equal((await fetch(`${fn.url}/`)).status, 503);
      const post = (body: unknown) =>
        fetch(`${fn.url}/_/specialize`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      assert.equal((await post({ dir: 42 })).status, 400);
      const handler = runtime === 'node' ? 'handler.default' : 'handler.handle';
      const ok = await post({ dir: join(fixtures, runtime), handler, env: { FIXTURE_ENV: 'set' } });
      assert.equal(ok.status, 200);
      assert.equal(typeof ((await ok.json()) as { loadMs: number }).loadMs, 'number');
      assert.equal((await fetch(`${fn.url}/_/ready`)).status, 200);
      assert.equal(await (await fetch(`${fn.url}/`)).text(), 'ok');
      assert.equal((await post({ dir: join(fixtures, runtime), handler })).status, 409);
      await fn.stop();
    });

    it(`${runtime}: specialized with the function's files in the request (a cluster pool pod has no mount of them)`, async () => {
      const fn = await startProcess(interpretedRuntime(runtime));
      running.push(fn);
      await waitHttp(fn, '/_/health', 15_000);
      const post = (body: unknown) =>
        fetch(`${fn.url}/_/specialize`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const [file, handler, code] =
        runtime === 'node'
          ? ['lib/greet.mjs', 'lib/greet.default', "export default () => 'hi from ' + process.env.WHO"]
          : ['greet.py', 'greet.handle', "import os\ndef handle(req):\n    return 'hi from ' + os.environ['WHO']\n"];
      for (const bad of ['../escape.js', '/etc/passwd', 'a/../../b']) {
        const r = await post({ files: { [bad]: 'x' }, handler });
        assert.equal(r.status, 400, bad);
        assert.match(((await r.json()) as { error: string }).error, /must be a relative path inside the function/);
      }
      assert.equal((await post({ files: { [file]: 42 }, handler })).status, 400, 'a file that is not text');
      const ok = await post({ files: { [file]: code }, handler, env: { WHO: 'the pool' } });
      assert.equal(ok.status, 200, await ok.clone().text());
      assert.equal(await (await fetch(`${fn.url}/`)).text(), 'hi from the pool');
      assert.equal((await post({ files: { [file]: code }, handler })).status, 409);
      await fn.stop();
    });
  }
});

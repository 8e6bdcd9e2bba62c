// `plinth init` for every runtime: the template becomes a valid Function that answers through
// the gateway from a real runtime process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { LocalBackend, loadFunctionManifests } from '@plinth/faas';
import { build, listen } from '@plinth/gateway';
import { pino } from 'pino';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', 'src', 'main.ts');
const work = mkdtempSync(join(tmpdir(), 'plinth-init-'));
const plinth = (...args: string[]) => run(process.execPath, [cli, ...args], { cwd: work });

describe('plinth init', () => {
  const backend = new LocalBackend({ cacheDir: join(work, '.cache'), poolSize: 1 });
  const gateway = build({ backend, logger: pino({ level: 'silent' }), coldStartTimeoutMs: 120_000 });
  let base = '';
  let close = () => {};

  before(async () => {
    for (const runtime of ['node', 'python', 'go', 'java']) {
      const { stdout } = await plinth('init', `fns/${runtime}-greeter`, '--runtime', runtime);
      assert.match(stdout, new RegExp(`created ${runtime} function "${runtime}-greeter"`));
      assert.match(stdout, /run it: npx plinth dev fns\//);
    }
    const fns = loadFunctionManifests(join(work, 'fns')).map((m) => ({
      namespace: 'default',
      name: m.object.metadata.name ?? '',
      spec: m.object.spec,
      codeDir: m.dir,
    }));
    assert.equal(fns.length, 4);
    await backend.setFunctions(fns);
    const { server, url } = await listen(gateway, { port: 0 });
    base = url;
    close = () => server.close();
  });

  after(async () => {
    close();
    await gateway.close();
    await backend.close();
  });

  // Each template uses a dependency: slugify (npm), python-slugify (PyPI), golang.org/x/text
  // (title case) and, for Java, the runtime's Jackson (the record is written as JSON).
  const expected: Record<string, Record<string, string>> = {
    node: { message: 'Hello, ada lovelace', slug: 'ada-lovelace' },
    python: { message: 'Hello, ada lovelace', slug: 'ada-lovelace' },
    go: { message: 'Hello, Ada Lovelace' },
    java: { message: 'Hello, ada lovelace' },
  };
  for (const runtime of ['node', 'python', 'go', 'java']) {
    it(`makes a ${runtime} function that answers, with its dependency`, async () => {
      const res = await fetch(`${base}/fn/default/${runtime}-greeter?name=ada%20lovelace`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { function: `${runtime}-greeter`, runtime, ...expected[runtime] });
    });
  }

  it('refuses an unknown runtime, a bad name and a non-empty directory, saying what to do', async () => {
    await assert.rejects(plinth('init', 'x', '--runtime', 'ruby'), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /unknown runtime "ruby"; choose one of node, python, go, java/);
      return true;
    });
    await assert.rejects(plinth('init', 'Bad_Name', '--runtime', 'node'), /cannot name a Function/);
    writeFileSync(join(work, 'fns', 'node-greeter', 'extra.txt'), 'x');
    await assert.rejects(plinth('init', 'fns/node-greeter', '--runtime', 'node'), /exists and is not empty/);
  });
});

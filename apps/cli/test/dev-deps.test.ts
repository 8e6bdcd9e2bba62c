// `plinth dev` with functions that have dependencies, in all four languages, installed by the
// real tools from the real registries (npm ci, pip, Maven, go mod download): each is installed
// before the URLs are printed and answers with its dependency; a lockfile edited while running
// installs again (and the function answers with the new version); a second start reuses the
// cache and installs nothing. A failing install (a version that does not exist) and a Java
// compile error are each that function's error, printed at start with the tool's output and
// answered as 503, while the other functions serve and the process keeps running.
// Installs are cached under the test's own directory (the tools' own caches, ~/.npm,
// ~/.cache/pip, ~/.m2 and Go's module cache, make them quick on a second run).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { eventually } from '@plinth/ground';
import { spawnDev } from './dev-process.ts';

const work = mkdtempSync(join(tmpdir(), 'plinth-dev-deps-'));
const dir = join(work, 'functions');
let dev: ChildProcess | undefined;
after(() => {
  dev?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function fn(name: string, runtime: string, files: Record<string, string>) {
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(
    join(dir, name, 'function.yaml'),
    `apiVersion: plinth.dev/v1alpha1\nkind: Function\nmetadata: { name: ${name} }\nspec:\n  runtime: ${runtime}\n  source: { configMap: { name: ${name} } }\n`,
  );
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, name, file), text);
}

const slugifyNode = (version: string, integrity: string) => ({
  'package.json': JSON.stringify({ name: 'node-dep', private: true, dependencies: { slugify: version } }, null, 2),
  'package-lock.json': JSON.stringify(
    {
      name: 'node-dep',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'node-dep', dependencies: { slugify: version } },
        'node_modules/slugify': { version, integrity, license: 'MIT', engines: { node: '>=8.0.0' } },
      },
    },
    null,
    2,
  ),
});
const SLUGIFY_1_6_9 = 'sha512-vZ7rfeehZui7wQs438JXBckYLkIIdfHOXsaVEUMyS5fHo1483l1bMdo0EDSWYclY0yZKFOipDy4KHuKs6ssvdg==';
const SLUGIFY_1_6_8 = 'sha512-HVk9X1E0gz3mSpoi60h/saazLKXKaZThMLU3u/aNwoYn8/xQyX2MGxL0ui2eaokkD7tF+Zo+cKTHUbe1mmmGzA==';

fn('node-dep', 'node', {
  ...slugifyNode('1.6.9', SLUGIFY_1_6_9),
  'handler.mjs': `import { createRequire } from 'node:module';
import slugify from 'slugify';
const { version } = createRequire(import.meta.url)('slugify/package.json');
export default (req) => ({ slug: slugify(new URL(req.url).searchParams.get('text') ?? '', { lower: true }), version });
`,
});
fn('python-dep', 'python', {
  'requirements.txt': 'python-slugify==8.0.4\ntext-unidecode==1.3\n',
  'handler.py': `import slugify


def handle(req):
    return {"slug": slugify.slugify(req.query.get("text", [""])[0]), "version": slugify.__version__}
`,
});
fn('go-dep', 'go', {
  'go.mod': 'module example.com/ids\n\ngo 1.24\n\nrequire github.com/google/uuid v1.6.0\n',
  'go.sum': `github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=
github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
`,
  'handler.go': `package ids

import (
	"net/http"

	"github.com/google/uuid"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte(uuid.NewSHA1(uuid.NameSpaceURL, []byte(r.URL.Query().Get("text"))).String()))
}
`,
});
fn('java-dep', 'java', {
  'pom.xml': `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>java-dep</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.commons</groupId>
      <artifactId>commons-text</artifactId>
      <version>1.15.0</version>
    </dependency>
  </dependencies>
</project>
`,
  'Handler.java': `import dev.plinth.runtime.Request;
import java.util.Map;
import org.apache.commons.text.WordUtils;

public class Handler {
  public Object handle(Request req) {
    return Map.of("title", WordUtils.capitalizeFully(req.param("text", "")));
  }
}
`,
});
fn('broken-python', 'python', {
  'requirements.txt': 'python-slugify==0.0.0.99\n',
  'handler.py': 'def handle(req):\n    return "never"\n',
});
fn('broken-java', 'java', {
  'Handler.java': `import dev.plinth.runtime.Request;

public class Handler {
  public Object handle(Request req) {
    return notDeclaredAnywhere;
  }
}
`,
});
fn('plain', 'node', { 'handler.mjs': "export default () => 'plain';\n" });

/** A version-5 UUID of `name` in the URL namespace, as RFC 9562 defines it. */
function uuidV5(name: string): string {
  const ns = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');
  const b = createHash('sha1').update(ns).update(name).digest().subarray(0, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

interface Dev {
  process: ChildProcess;
  base: string;
  stdout: () => string;
  stderr: () => string;
}

async function start(): Promise<Dev> {
  const { child, stdout, stderr } = spawnDev(dir, {
    cwd: work,
    env: { ...process.env, PLINTH_DEPS_CACHE: join(work, 'deps') },
  });
  dev = child;
  const base = await eventually(
    'plinth dev to list its routes',
    () => {
      if (child.exitCode !== null) throw new Error(`plinth dev exited ${child.exitCode}: ${stderr()}`);
      return /default\/plain\s+(http:\/\/127\.0\.0\.1:\d+)\/fn\/default\/plain/.exec(stdout())?.[1];
    },
    240_000,
    100,
  );
  return { process: child, base, stdout, stderr };
}

async function stop(d: Dev) {
  const exited = new Promise((resolve) => d.process.once('exit', resolve));
  d.process.kill('SIGINT');
  assert.equal(await exited, 0);
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
};

const DEPS = ['node-dep', 'python-dep', 'go-dep', 'java-dep'];

it('installs each function’s dependencies before serving, reinstalls a changed lockfile, and reuses an unchanged one', async () => {
  const t0 = performance.now();
  const first = await start();
  const startMs = performance.now() - t0;
  // Every install (or its failure) was printed before the URLs were.
  for (const name of DEPS) {
    assert.match(first.stderr(), new RegExp(`default/${name} \\| installing dependencies \\(`), name);
    assert.match(first.stderr(), new RegExp(`default/${name} \\| dependencies installed in [\\d.]+ m?s`), name);
  }
  assert.match(first.stderr(), /default\/node-dep \| installing dependencies \(npm ci\)\.\.\./);
  assert.match(first.stderr(), /default\/python-dep \| installing dependencies \(pip install\)\.\.\./);
  assert.match(first.stderr(), /default\/java-dep \| installing dependencies \(mvn dependency:copy-dependencies\)/);
  assert.match(first.stderr(), /default\/go-dep \| installing dependencies \(go mod download\)/);

  const { base } = first;
  assert.deepEqual(JSON.parse((await get(`${base}/fn/default/node-dep?text=Ada%20Lovelace`)).body), {
    slug: 'ada-lovelace',
    version: '1.6.9',
  });
  assert.deepEqual(JSON.parse((await get(`${base}/fn/default/python-dep?text=Ada%20L%C3%B6velace`)).body), {
    slug: 'ada-lovelace',
    version: '8.0.4',
  });
  assert.deepEqual(await get(`${base}/fn/default/go-dep?text=ada`), { status: 200, body: uuidV5('ada') });
  assert.deepEqual(JSON.parse((await get(`${base}/fn/default/java-dep?text=ada%20LOVELACE`)).body), {
    title: 'Ada Lovelace',
  });

  // The two failures: a line at start with the tool's output, and 503 with it on request.
  assert.match(
    first.stderr(),
    /default\/broken-python \| error dependencies failed: pip install failed\n(default\/broken-python \| {3}.*\n)*.*python-slugify==0\.0\.0\.99/,
  );
  assert.match(first.stderr(), /default\/broken-java \| error build failed: javac of .* failed\n.*cannot find symbol/);
  assert.match(first.stdout(), /default\/broken-java\s+\S+\/fn\/default\/broken-java {2}\(not serving: javac of/);
  const brokenPython = await get(`${base}/fn/default/broken-python`);
  assert.equal(brokenPython.status, 503);
  assert.match(brokenPython.body, /pip install failed.*python-slugify==0\.0\.0\.99/s);
  const brokenJava = await get(`${base}/fn/default/broken-java`);
  assert.equal(brokenJava.status, 503);
  assert.match(brokenJava.body, /javac of .*Handler\.java:5: error: cannot find symbol/s);
  assert.deepEqual(await get(`${base}/fn/default/plain`), { status: 200, body: 'plain' });
  assert.equal(first.process.exitCode, null, 'plinth dev keeps running');

  // A changed lockfile (and requirements) while running: installed again, served with the new version.
  for (const [file, text] of Object.entries(slugifyNode('1.6.8', SLUGIFY_1_6_8)))
    writeFileSync(join(dir, 'node-dep', file), text);
  writeFileSync(join(dir, 'python-dep', 'requirements.txt'), 'python-slugify==8.0.3\ntext-unidecode==1.3\n');
  await eventually(
    'the new slugify versions serving',
    async () => {
      const node = JSON.parse((await get(`${base}/fn/default/node-dep?text=x`)).body) as { version?: string };
      const python = JSON.parse((await get(`${base}/fn/default/python-dep?text=x`)).body) as { version?: string };
      return node.version === '1.6.8' && python.version === '8.0.3';
    },
    120_000,
    500,
  );
  for (const name of ['node-dep', 'python-dep']) {
    assert.equal(first.stderr().split(`default/${name} | installing dependencies`).length - 1, 2, name);
  }
  await stop(first);

  // A second start: nothing to install, the cache answers.
  const t1 = performance.now();
  const second = await start();
  const restartMs = performance.now() - t1;
  for (const name of DEPS) {
    assert.match(second.stderr(), new RegExp(`default/${name} \\| dependencies reused from the cache`), name);
    assert.doesNotMatch(second.stderr(), new RegExp(`default/${name} \\| installing`), name);
  }
  assert.deepEqual(JSON.parse((await get(`${second.base}/fn/default/node-dep?text=Hi%20There`)).body), {
    slug: 'hi-there',
    version: '1.6.8',
  });
  assert.deepEqual(JSON.parse((await get(`${second.base}/fn/default/java-dep?text=hi`)).body), { title: 'Hi' });
  await stop(second);
  process.stdout.write(`# first start ${Math.round(startMs)} ms, second ${Math.round(restartMs)} ms\n`);
});

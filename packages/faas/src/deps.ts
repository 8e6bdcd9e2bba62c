// A function's dependencies, in one place for all four runtimes: which file declares them, how
// they are checked and installed, and the cache key. Installs go to a cache directory keyed by a
// hash of the manifest and lockfile (and the runtime's version where installed files depend on
// it), never into the function's source; an unchanged key reuses the install, a changed one
// installs again. What an install leaves, by runtime:
//   node    <dir>/node_modules     `npm ci` from package.json and package-lock.json
//   python  <dir>/packages         `pip install --only-binary=:all:` of a pinned requirements.txt
//   java    <dir>/lib/*.jar        `mvn dependency:copy-dependencies` of pom.xml (runtime scope)
//   go      (Go's module cache)    `go mod download` of go.mod and go.sum
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Runtime } from '@plinth/api';

const exec = promisify(execFile);

/** A failed build or install: `output` is the tool's own output, shown to the user as is. */
export class BuildError extends Error {
  readonly output: string;
  constructor(message: string, output: string) {
    super(`${message}\n${output}`);
    this.name = 'BuildError';
    this.output = output;
  }
}

/** Runs a build tool; a failure (or a tool that is not installed) becomes a BuildError. */
export async function runTool(
  what: string,
  cmd: string,
  args: string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<void> {
  try {
    await exec(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (err.code === 'ENOENT') throw new BuildError(`${what} failed`, `${cmd} is not installed (not found on PATH)`);
    throw new BuildError(`${what} failed`, `${err.stderr ?? ''}${err.stdout ?? ''}`.trim() || err.message);
  }
}

/** Where installs are cached unless told otherwise: $PLINTH_DEPS_CACHE, else ~/.cache/plinth/deps. */
export function dependencyCache(): string {
  if (process.env.PLINTH_DEPS_CACHE) return process.env.PLINTH_DEPS_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'plinth', 'deps');
}

/** A function's files by name (relative to its directory); only the ones a runtime's rules read. */
export type FunctionFiles = Readonly<Record<string, string>>;

/** The dependencies a function declares: what installs them and the files that key the cache. */
export interface DeclaredDependencies {
  runtime: Runtime;
  /** The command, for progress lines: `npm ci`, `pip install`, ... */
  tool: string;
  /** The files the install reads (and the cache key hashes), with their text. */
  files: FunctionFiles;
}

/** Refused before any tool runs: a manifest that cannot give the same install every time. */
export class DependencyError extends BuildError {
  constructor(message: string) {
    super('dependencies refused', message);
    this.name = 'DependencyError';
  }
}

interface Ecosystem {
  /** The files this runtime's rules read from a function's directory. */
  reads: readonly string[];
  tool: string;
  /** The declared dependencies (throws DependencyError for a manifest that must be fixed), or none. */
  declared(files: FunctionFiles): FunctionFiles | undefined;
  /** What else keys the cache: the runtime or tool version the installed files depend on. */
  version(): Promise<string>;
  /** Installs into `into` (a fresh directory holding a copy of the declared files). */
  install(into: string): Promise<void>;
}

const json = (text: string, file: string): Record<string, unknown> => {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new DependencyError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
};

const nonEmpty = (v: unknown) => !!v && typeof v === 'object' && Object.keys(v).length > 0;

/**
 * One pinned requirement per line: `name==version`, with optional extras, an environment
 * marker and `--hash` options (as `pip-compile --generate-hashes` writes them). Anything that
 * could install something else tomorrow (a range, no version, `-r`, `-e`, an index or a URL) is
 * refused, naming the line.
 */
export function checkRequirements(text: string): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const number = i + 1;
    let line = (lines[i] ?? '').replace(/(^|\s)#.*$/, '').trim();
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = `${line.slice(0, -1)} ${(lines[++i] ?? '').replace(/(^|\s)#.*$/, '').trim()}`.trim();
    }
    if (!line) continue;
    const requirement = line.replace(/\s--hash[= ]\S+/g, '').trim();
    if (requirement.startsWith('-')) {
      throw new DependencyError(
        `requirements.txt line ${number}: "${requirement.split(/\s/)[0]}" is not supported: list pinned requirements only (name==version, one per line)`,
      );
    }
    if (
      !/^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,\s-]*\])?\s*===?\s*[A-Za-z0-9][A-Za-z0-9.+!_-]*\s*(;.*)?$/.test(
        requirement,
      )
    ) {
      const name = /^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(requirement)?.[0] ?? 'package';
      throw new DependencyError(
        `requirements.txt line ${number}: "${requirement}" is not pinned: write it as ${name}==<version> (pip freeze shows the versions you use), so every install is the same`,
      );
    }
  }
}

let pythonVersion: Promise<string> | undefined;
let goVersion: Promise<string> | undefined;

const ECOSYSTEMS: Record<Runtime, Ecosystem> = {
  node: {
    reads: ['package.json', 'package-lock.json', 'npm-shrinkwrap.json'],
    tool: 'npm ci',
    declared(files) {
      const manifest = files['package.json'];
      if (manifest === undefined) return undefined;
      const pj = json(manifest, 'package.json');
      if (!nonEmpty(pj.dependencies) && !nonEmpty(pj.optionalDependencies)) return undefined;
      const lockName = ['npm-shrinkwrap.json', 'package-lock.json'].find((f) => files[f] !== undefined);
      if (!lockName) {
        throw new DependencyError(
          'package.json declares dependencies but there is no package-lock.json beside it: run `npm install` in the function directory to write one (dependencies are installed with `npm ci`, exactly as the lockfile says)',
        );
      }
      return { 'package.json': manifest, [lockName]: files[lockName] as string };
    },
    version: async () => `node ${process.version} ${process.platform}-${process.arch}`,
    install: (into) =>
      runTool(
        'npm ci',
        'npm',
        ['ci', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', into],
        into,
      ),
  },
  python: {
    reads: ['requirements.txt'],
    tool: 'pip install',
    declared(files) {
      const text = files['requirements.txt'];
      if (text === undefined) return undefined;
      checkRequirements(text);
      if (!text.split('\n').some((l) => l.replace(/#.*$/, '').trim())) return undefined;
      return { 'requirements.txt': text };
    },
    version: () => {
      pythonVersion ??= exec(pythonCommand(), [
        '-c',
        'import sys, platform; print(sys.version.split()[0], platform.machine())',
      ]).then(
        (r) => `python ${r.stdout.trim()}`,
        () => 'python unknown',
      );
      return pythonVersion;
    },
    install: (into) =>
      runTool(
        'pip install',
        pythonCommand(),
        [
          '-m',
          'pip',
          'install',
          '--only-binary=:all:',
          '--no-input',
          '--disable-pip-version-check',
          '--quiet',
          '--target',
          join(into, 'packages'),
          '--requirement',
          join(into, 'requirements.txt'),
        ],
        into,
      ),
  },
  java: {
    reads: ['pom.xml'],
    tool: 'mvn dependency:copy-dependencies',
    declared: (files) => (files['pom.xml'] === undefined ? undefined : { 'pom.xml': files['pom.xml'] }),
    // Jars are the same for any JDK; the plugin version keys how they are laid out.
    version: async () => MAVEN_DEPENDENCY_PLUGIN,
    install: (into) =>
      runTool(
        'mvn dependency:copy-dependencies',
        'mvn',
        [
          '--batch-mode',
          '--quiet',
          '-Dstyle.color=never',
          '--file',
          join(into, 'pom.xml'),
          `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`,
          '-DincludeScope=runtime',
          `-DoutputDirectory=${join(into, 'lib')}`,
        ],
        into,
      ),
  },
  go: {
    reads: ['go.mod', 'go.sum'],
    tool: 'go mod download',
    declared(files) {
      const mod = files['go.mod'];
      if (mod === undefined || !/^\s*require\b/m.test(mod)) return undefined;
      return { 'go.mod': mod, ...(files['go.sum'] !== undefined ? { 'go.sum': files['go.sum'] } : {}) };
    },
    version: () => {
      goVersion ??= exec('go', ['env', 'GOVERSION']).then(
        (r) => r.stdout.trim(),
        () => 'go unknown',
      );
      return goVersion;
    },
    // Into Go's own module cache (content-addressed and shared); the cache entry only marks it done.
    install: (into) =>
      runTool('go mod download', 'go', ['mod', 'download'], into, { GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' }),
  },
};

/** Resolves and copies a pom's dependencies; pinned so the same pom gives the same jars. */
const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

export const pythonCommand = () => process.env.PLINTH_PYTHON ?? 'python3';

/** The files a runtime's dependency rules read, from a function's directory (those present). */
export function dependencyFiles(runtime: Runtime, dir: string): FunctionFiles {
  const out: Record<string, string> = {};
  for (const f of ECOSYSTEMS[runtime].reads) {
    const p = join(dir, f);
    if (existsSync(p)) out[f] = readFileSync(p, 'utf8');
  }
  return out;
}

/**
 * The dependencies a function's files declare, or undefined when there are none (no manifest,
 * or one that lists nothing). Throws DependencyError, naming what to fix, for a package.json
 * without its lockfile or an unpinned requirement. `files` may hold more than the rules read (a
 * ConfigMap's data, say).
 */
export function declaredDependencies(runtime: Runtime, files: FunctionFiles): DeclaredDependencies | undefined {
  const eco = ECOSYSTEMS[runtime];
  const declared = eco.declared(files);
  return declared && { runtime, tool: eco.tool, files: declared };
}

/** Installed dependencies: where they are and whether this call installed them. */
export interface InstalledDependencies {
  runtime: Runtime;
  /** The cache entry: node_modules/, packages/ or lib/ inside, by runtime (see the top of this file). */
  dir: string;
  /** True when the cache already held them (nothing was installed). */
  reused: boolean;
  ms: number;
}

const installing = new Map<string, Promise<InstalledDependencies>>();

/**
 * Installs the dependencies a function declares into the cache, or finds them there. Resolves
 * undefined when it declares none. `onInstall` is called when an install actually starts (not
 * when the cache is reused), with the tool's name. Rejects with a BuildError holding the tool's
 * output. Concurrent calls for one cache entry share one install; an install goes to a
 * temporary directory first, so another process never sees half of one.
 */
export async function installDependencies(
  runtime: Runtime,
  dir: string,
  opts: { cacheDir?: string; onInstall?: (tool: string) => void } = {},
): Promise<InstalledDependencies | undefined> {
  const declared = declaredDependencies(runtime, dependencyFiles(runtime, dir));
  if (!declared) return undefined;
  const eco = ECOSYSTEMS[runtime];
  const h = createHash('sha256').update(await eco.version());
  for (const [name, text] of Object.entries(declared.files).sort()) h.update(`\0${name}\0${text}`);
  const target = join(opts.cacheDir ?? dependencyCache(), `${runtime}-${h.digest('hex').slice(0, 16)}`);
  const t0 = performance.now();
  if (existsSync(join(target, '.complete'))) return { runtime, dir: target, reused: true, ms: 0 };
  let pending = installing.get(target);
  if (!pending) {
    pending = (async () => {
      opts.onInstall?.(declared.tool);
      const work = `${target}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
      mkdirSync(work, { recursive: true });
      try {
        for (const [name, text] of Object.entries(declared.files)) writeFileSync(join(work, name), text);
        await eco.install(work);
        writeFileSync(join(work, '.complete'), `${new Date().toISOString()}\n`);
        try {
          renameSync(work, target);
        } catch (e) {
          // Another process finished the same install first: its copy is as good as ours.
          if (!existsSync(join(target, '.complete'))) throw e;
          rmSync(work, { recursive: true, force: true });
        }
      } catch (e) {
        rmSync(work, { recursive: true, force: true });
        throw e;
      }
      return { runtime, dir: target, reused: false, ms: performance.now() - t0 };
    })().finally(() => installing.delete(target));
    installing.set(target, pending);
  }
  return pending;
}

/**
 * Where an interpreted function runs when it has dependencies: a copy of its files (as a
 * cluster's build would lay them out) with the installed dependencies linked in where the
 * runtime finds them, node_modules/ for Node (its own resolution) and .python_packages/ for
 * Python (the runtime puts it on sys.path). Made once per revision; the source stays untouched.
 */
export function functionWithDependencies(source: string, into: string, deps: InstalledDependencies): string {
  if (existsSync(join(into, '.complete'))) return into;
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  cpSync(source, into, {
    recursive: true,
    filter: (src) => !/(^|\/)(node_modules|__pycache__|\.[^/]*)$/.test(src.slice(source.length)),
  });
  const link = deps.runtime === 'node' ? 'node_modules' : deps.runtime === 'python' ? PYTHON_PACKAGES : undefined;
  if (link) symlinkSync(join(deps.dir, deps.runtime === 'node' ? 'node_modules' : 'packages'), join(into, link));
  writeFileSync(join(into, '.complete'), '');
  return into;
}

/** The directory beside a Python function's code that its runtime adds to sys.path. */
export const PYTHON_PACKAGES = '.python_packages';

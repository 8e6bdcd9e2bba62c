// The local backend: functions as processes on this machine, for `plinth dev`, tests and
// benchmarks. Each revision is prepared once: its dependencies installed (deps.ts, cached by
// lockfile hash), Go and Java compiled; a revision whose preparation fails answers with that
// error while the others serve. Node and Python revisions start from warm pools
// (specialization); Go and Java revisions start their build. Scaling follows the same
// autoscaler decision the cluster uses, fed with the gateway's in-flight counts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultHandlers, type FunctionSpec, InlineSourceFiles, revisionTemplate, templateHash } from '@plinth/api';
import { decide, newScaleState, type ScaleState } from './autoscale.ts';
import { buildGo, buildJava, hashSources, interpretedRuntime } from './build.ts';
import { dependencyCache, functionWithDependencies, installDependencies } from './deps.ts';
import { WarmPool } from './pool.ts';
import { type Instance, type ProcessSpec, startProcess, waitHttp } from './process.ts';
import {
  claimKey,
  defaultPrefix,
  type FunctionBackend,
  fenceRoutes,
  functionClaim,
  type HeldRoute,
  heldRoute,
  holds,
  normalizePrefix,
  type Route,
  type RouteGrant,
  type RouteRefusal,
  resolveRoutes,
} from './routes.ts';

export interface LocalFunction {
  namespace: string;
  name: string;
  /** With defaults applied. */
  spec: FunctionSpec;
  /** Where the code is (for source.configMap: the manifest's directory). */
  codeDir: string;
}

export interface LocalBackendOptions {
  /** Build outputs and inline sources (default .tmp/plinth-dev under the working directory). */
  cacheDir?: string;
  /** Installed dependencies, shared by every function and run (default: deps.ts dependencyCache()). */
  depsCacheDir?: string;
  /** Warm processes per interpreted runtime (default 2). */
  poolSize?: number;
  /** Longest wait for an instance to become ready (default 60 s: a first Java build). */
  startTimeoutMs?: number;
  onLog?: (fn: string, line: string) => void;
  onEvent?: (event: { fn: string; revision: string; what: string; ms?: number; error?: string }) => void;
  now?: () => number;
}

/** A revision ready to start: node and python load `dir` into a process; go and java run `spec`. */
type Prepared = { dir: string; spec?: undefined } | { spec: ProcessSpec; dir?: undefined };

interface RevisionState {
  fn: LocalFunction;
  revision: string;
  instances: Instance[];
  starting: Promise<void> | undefined;
  scale: ScaleState;
  /** Dependencies installed and code built, once per revision. */
  prepared?: Promise<Prepared>;
  /** Why preparing it failed: what every request to it answers (503) until it is edited. */
  error?: string;
}

export class LocalBackend implements FunctionBackend {
  /** Function routes, then fences for the granted prefixes and hosts (what the gateway matches). */
  #served: readonly Route[] = [];
  /** `namespace/name` -> when this backend first saw it: the age that settles route conflicts. */
  #firstSeen = new Map<string, string>();
  /** `namespace/name` -> the path and host it was routed at: what status.route is in a cluster. */
  #held = new Map<string, HeldRoute>();
  #refused = new Map<string, RouteRefusal>();
  #revisions = new Map<string, RevisionState>();
  #pools = new Map<'node' | 'python', WarmPool>();
  #opts: LocalBackendOptions & { cacheDir: string; depsCacheDir: string; startTimeoutMs: number; now: () => number };

  constructor(opts: LocalBackendOptions = {}) {
    this.#opts = {
      ...opts,
      cacheDir: opts.cacheDir ?? join(process.cwd(), '.tmp', 'plinth-dev'),
      depsCacheDir: opts.depsCacheDir ?? dependencyCache(),
      startTimeoutMs: opts.startTimeoutMs ?? 60_000,
      now: opts.now ?? Date.now,
    };
    mkdirSync(this.#opts.cacheDir, { recursive: true });
  }

  routes(): readonly Route[] {
    return this.#served;
  }

  endpoints(revision: string): readonly string[] {
    return this.#revisions.get(revision)?.instances.map((i) => i.url) ?? [];
  }

  async wake(revision: string, signal: AbortSignal): Promise<void> {
    const rev = this.#revisions.get(revision);
    if (!rev) throw new Error(`unknown revision ${revision}`);
    rev.scale.lastActiveAt = this.#opts.now();
    if (rev.instances.length > 0) return;
    rev.starting ??= this.#addInstance(rev).finally(() => {
      rev.starting = undefined;
    });
    await abortable(rev.starting, signal);
  }

  /** Warm pools for the interpreted runtimes in use; resolves when they are filled. */
  async warm(): Promise<void> {
    const runtimes = new Set([...this.#revisions.values()].map((r) => r.fn.spec.runtime));
    await Promise.all((['node', 'python'] as const).filter((r) => runtimes.has(r)).map((r) => this.#pool(r).fill()));
  }

  /**
   * Installs every function's dependencies and compiles every Go and Java function now, so no
   * first request waits on either. Progress and failures go to onEvent ('installing
   * dependencies (npm ci)', 'dependencies installed', 'dependencies reused from the cache',
   * 'built', 'dependencies failed' / 'build failed' with the tool's output); a function that
   * fails answers 503 with that error, and the others are not held up. Never rejects.
   */
  async prepare(): Promise<void> {
    await Promise.allSettled([...this.#revisions.values()].map((rev) => this.#prepare(rev)));
  }

  /** Functions (by `namespace/name`) whose install or build failed, and the error. */
  failures(): ReadonlyMap<string, string> {
    const out = new Map<string, string>();
    for (const rev of this.#revisions.values()) {
      if (rev.error) out.set(`${rev.fn.namespace}/${rev.fn.name}`, rev.error);
    }
    return out;
  }

  /** Functions not routed, by `namespace/name`, and why (the same rules as in a cluster). */
  refusals(): ReadonlyMap<string, RouteRefusal> {
    return this.#refused;
  }

  /**
   * Replaces the set of functions. A function whose revision template changed gets a new
   * revision; instances of revisions no longer routed are stopped. Route ownership is decided
   * as in a cluster, with `grants` from Tenant manifests; a function added later is the newer
   * claim, and one edited to point at a path or host another function is routed at does not
   * take it (the incumbent keeps it, as with status.route in a cluster). A refused function
   * gets no revision and is reported through onEvent. Returns the function routes.
   */
  async setFunctions(fns: readonly LocalFunction[], grants: readonly RouteGrant[] = []): Promise<Route[]> {
    const now = new Date(this.#opts.now()).toISOString();
    const seen = new Map<string, string>();
    for (const fn of fns) {
      const key = `${fn.namespace}/${fn.name}`;
      seen.set(key, this.#firstSeen.get(key) ?? now);
    }
    this.#firstSeen = seen;
    const { refused } = resolveRoutes(
      fns.map((fn) =>
        functionClaim({
          metadata: {
            namespace: fn.namespace,
            name: fn.name,
            creationTimestamp: seen.get(`${fn.namespace}/${fn.name}`),
          },
          spec: fn.spec,
          status: { route: this.#held.get(`${fn.namespace}/${fn.name}`) },
        }),
      ),
      grants,
    );
    const before = this.#refused;
    this.#refused = new Map();
    const held = this.#held;
    this.#held = new Map();
    const routes: Route[] = [];
    const live = new Set<string>();
    for (const fn of fns) {
      const key = `${fn.namespace}/${fn.name}`;
      const refusal = refused.get(claimKey('Function', fn.namespace, fn.name));
      if (refusal) {
        this.#refused.set(key, refusal);
        if (before.get(key)?.message !== refusal.message)
          this.#opts.onEvent?.({ fn: key, revision: '', what: refusal.reason, error: refusal.message });
        continue;
      }
      const path = fn.spec.http.path ?? defaultPrefix(fn.namespace, fn.name);
      const claim = { path, ...(fn.spec.http.host ? { host: fn.spec.http.host } : {}) };
      const was = held.get(key);
      this.#held.set(key, holds(was, claim) && was ? was : heldRoute(claim, now));
      const revision = `${fn.name}-${this.#revisionHash(fn)}`;
      live.add(revision);
      if (!this.#revisions.has(revision)) {
        this.#revisions.set(revision, {
          fn,
          revision,
          instances: [],
          starting: undefined,
          scale: newScaleState(this.#opts.now()),
        });
        this.#opts.onEvent?.({ fn: `${fn.namespace}/${fn.name}`, revision, what: 'revision created' });
      }
      routes.push({
        function: `${fn.namespace}/${fn.name}`,
        prefix: normalizePrefix(path),
        ...(fn.spec.http.host ? { host: fn.spec.http.host } : {}),
        timeoutMs: fn.spec.timeoutSeconds * 1000,
        targets: [{ revision, percent: 100 }],
      });
    }
    this.#served = [...routes, ...fenceRoutes(grants)];
    const retired = [...this.#revisions.values()].filter((r) => !live.has(r.revision));
    for (const r of retired) this.#revisions.delete(r.revision);
    await Promise.all(retired.flatMap((r) => r.instances.map((i) => i.stop())));
    return routes;
  }

  /**
   * One autoscaler step: `inflight` is the gateway's in-flight count per revision. Starts or
   * stops instances to match the decision; returns the replica count per revision.
   */
  async tick(inflight: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const now = this.#opts.now();
    const result = new Map<string, number>();
    await Promise.all(
      [...this.#revisions.values()].map(async (rev) => {
        const n = inflight.get(rev.revision) ?? 0;
        rev.scale.samples.push({ at: now, inflight: n });
        if (n > 0) rev.scale.lastActiveAt = now;
        const current = rev.instances.length;
        const { replicas } = decide(rev.scale, current, rev.fn.spec.scaling, now);
        if (replicas > current && !rev.starting && !rev.error) {
          const starting = Promise.all(Array.from({ length: replicas - current }, () => this.#addInstance(rev)))
            .then(() => {})
            .finally(() => {
              rev.starting = undefined;
            });
          starting.catch(() => {}); // reported through onEvent; a wake awaiting it gets the error
          rev.starting = starting;
        } else if (replicas < current) {
          const extra = rev.instances.splice(replicas);
          await Promise.all(extra.map((i) => i.stop()));
          this.#opts.onEvent?.({ fn: rev.fn.name, revision: rev.revision, what: `scaled to ${replicas}` });
        }
        result.set(rev.revision, replicas);
      }),
    );
    return result;
  }

  async close(): Promise<void> {
    const all = [...this.#revisions.values()];
    this.#revisions.clear();
    this.#served = [];
    await Promise.all([
      ...all.flatMap((r) => r.instances.map((i) => i.stop(2000))),
      ...[...this.#pools.values()].map((p) => p.close()),
    ]);
  }

  #revisionHash(fn: LocalFunction): string {
    // The template plus the code on disk: editing a file makes a new revision, as in a cluster.
    const t = templateHash(revisionTemplate(fn.spec));
    return fn.spec.source?.inline ? t : hashSources([fn.codeDir], [t]).slice(0, 10);
  }

  #pool(runtime: 'node' | 'python'): WarmPool {
    let pool = this.#pools.get(runtime);
    if (!pool) {
      pool = new WarmPool({
        spec: { ...interpretedRuntime(runtime), onLine: (l) => this.#opts.onLog?.(`${runtime}-pool`, l) },
        size: this.#opts.poolSize ?? 2,
      });
      this.#pools.set(runtime, pool);
    }
    return pool;
  }

  #codeDir(fn: LocalFunction): string {
    const { spec } = fn;
    if (spec.image) throw new Error(`${fn.name}: spec.image functions run only in a cluster; plinth dev runs source`);
    if (spec.source?.archive)
      throw new Error(`${fn.name}: source.archive is not supported by plinth dev; use inline or a local directory`);
    if (spec.source?.inline !== undefined && spec.runtime) {
      const dir = join(
        this.#opts.cacheDir,
        `inline-${fn.namespace}-${fn.name}-${templateHash(revisionTemplate(spec))}`,
      );
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, InlineSourceFiles[spec.runtime]), spec.source.inline);
      return dir;
    }
    return fn.codeDir;
  }

  #prepare(rev: RevisionState): Promise<Prepared> {
    rev.prepared ??= this.#installAndBuild(rev);
    return rev.prepared;
  }

  async #installAndBuild(rev: RevisionState): Promise<Prepared> {
    const { fn } = rev;
    const key = `${fn.namespace}/${fn.name}`;
    const event = (what: string, extra: { ms?: number; error?: string } = {}) =>
      this.#opts.onEvent?.({ fn: key, revision: rev.revision, what, ...extra });
    let step = 'dependencies';
    try {
      const runtime = fn.spec.runtime;
      if (!runtime) throw new Error(`${key}: no runtime`);
      const dir = this.#codeDir(fn);
      const { cacheDir, depsCacheDir } = this.#opts;
      const deps = await installDependencies(runtime, dir, {
        cacheDir: depsCacheDir,
        onInstall: (tool) => event(`installing dependencies (${tool})`),
      });
      if (deps?.reused) event('dependencies reused from the cache');
      else if (deps) event('dependencies installed', { ms: deps.ms });
      if (runtime === 'node' || runtime === 'python') {
        step = 'load';
        return {
          dir: deps ? functionWithDependencies(dir, join(cacheDir, `run-${fn.namespace}-${rev.revision}`), deps) : dir,
        };
      }
      step = 'build';
      const t0 = performance.now();
      const handler = fn.spec.handler ?? DefaultHandlers[runtime];
      const spec =
        runtime === 'go'
          ? await buildGo(dir, handler, cacheDir, depsCacheDir)
          : await buildJava(dir, handler, cacheDir, depsCacheDir);
      event('built', { ms: performance.now() - t0 });
      return { spec };
    } catch (e) {
      rev.error = (e as Error).message;
      event(`${step} failed`, { error: rev.error });
      throw e;
    }
  }

  async #addInstance(rev: RevisionState): Promise<void> {
    const { fn } = rev;
    const key = `${fn.namespace}/${fn.name}`;
    const runtime = fn.spec.runtime;
    if (!runtime) throw new Error(`${key}: no runtime`);
    const handler = fn.spec.handler ?? DefaultHandlers[runtime];
    const env = Object.fromEntries(
      (fn.spec.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]),
    );
    const t0 = performance.now();
    const prepared = await this.#prepare(rev); // a failure is reported once, by #installAndBuild
    const onLine = (l: string) => this.#opts.onLog?.(key, l);
    let instance: Instance;
    try {
      if (prepared.dir !== undefined) {
        instance = await this.#pool(runtime as 'node' | 'python').take();
        const res = await fetch(`${instance.url}/_/specialize`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ dir: prepared.dir, handler, env }),
        });
        const body = await res.text();
        if (res.status !== 200) {
          await instance.stop(0);
          throw new Error(`${key}: cannot load ${handler} from ${prepared.dir}: ${body}`);
        }
      } else {
        const { spec } = prepared;
        instance = await startProcess({ ...spec, env: { ...spec.env, ...env }, onLine });
        await waitHttp(instance, '/_/ready', this.#opts.startTimeoutMs).catch(async (e) => {
          await instance.stop(0);
          throw e;
        });
      }
    } catch (e) {
      this.#opts.onEvent?.({ fn: key, revision: rev.revision, what: 'start failed', error: (e as Error).message });
      throw e;
    }
    // The revision may have been retired while this instance started.
    if (this.#revisions.get(rev.revision) !== rev) {
      await instance.stop(0);
      return;
    }
    rev.instances.push(instance);
    void instance.exited.then(() => {
      rev.instances = rev.instances.filter((i) => i !== instance);
    });
    this.#opts.onEvent?.({ fn: key, revision: rev.revision, what: 'instance ready', ms: performance.now() - t0 });
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

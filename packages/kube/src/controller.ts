// The reconcile loop: informers feed keys to a work queue, workers call one level-triggered
// reconcile per key. What happens after a reconcile is decided by its outcome:
//   - returns {} / undefined          -> done; failure count cleared
//   - returns { requeueAfterMs }       -> run again after that delay (polling something external)
//   - throws RetryAfterError           -> run again after its delay, not counted as a failure
//   - throws TerminalError             -> stop until the object changes; onError is told
//   - throws anything else             -> retry with per-key exponential backoff; onError is told
import { type KubeClient, type KubeObject, keyOf, parseKey } from './client.ts';
import { RetryAfterError, TerminalError } from './errors.ts';
import type { Informer } from './informer.ts';
import { InformerFactory } from './informers.ts';
import { type Logger, silentLogger } from './log.ts';
import { WorkQueue, type WorkQueueOptions } from './queue.ts';
import type { ResourceType } from './resources.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ReconcileContext<T> {
  /** The object's key: `namespace/name` or `name`. */
  readonly key: string;
  readonly namespace: string | undefined;
  readonly name: string;
  /** The object as the informer last saw it; undefined when it is gone. */
  readonly object: T | undefined;
  /** A child logger carrying the key and attempt. */
  readonly log: Logger;
  /** Aborted when the controller stops. */
  readonly signal: AbortSignal;
}

export interface ReconcileFailure {
  readonly key: string;
  readonly error: unknown;
  readonly terminal: boolean;
  /** Consecutive failures of this key, this one included. */
  readonly attempt: number;
  readonly retryInMs: number | undefined;
}

export interface ControllerOptions<T extends KubeObject> {
  name: string;
  client: KubeClient;
  /** The primary resource; one reconcile per object of it. */
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
  /** Child types: a change to a child enqueues its controlling owner of the primary type. */
  owns?: readonly ResourceType[];
  /** A label selector the owned objects carry (their caches then hold only those). */
  ownedSelector?: string;
  /**
   * Other types the primaries refer to: a change to one enqueues the primaries `affected`
   * picks from those in its namespace (e.g. the APIs over a Database that became ready, the
   * triggers whose Secret was rotated).
   */
  watches?: readonly {
    type: ResourceType;
    /** Only objects with these labels (their cache then holds only those). */
    labelSelector?: string;
    affected: (obj: KubeObject, primaries: readonly T[]) => T[];
  }[];
  /**
   * The process's shared informers (one watch and cache per type): the primary, owned and
   * watched types come from it. Without one the controller makes a factory of its own.
   */
  informers?: InformerFactory;
  /**
   * Every primary is reconciled again this often even when nothing changed (default none), so
   * drift outside Kubernetes (a grant revoked by hand in PostgreSQL) is repaired.
   */
  resyncMs?: number;
  // biome-ignore lint/suspicious/noConfusingVoidType: a reconcile that returns nothing is done.
  reconcile: (ctx: ReconcileContext<T>) => Promise<ReconcileResult | void>;
  /** Told about each failed reconcile, e.g. to write the error to status and an Event. */
  onError?: (failure: ReconcileFailure, object: T | undefined) => Promise<void> | void;
  concurrency?: number;
  queue?: WorkQueueOptions;
  logger?: Logger;
}

export class Controller<T extends KubeObject> {
  readonly informer: Informer<T>;
  readonly queue: WorkQueue;
  #informers: InformerFactory;
  #ownFactory: boolean;
  #resync: NodeJS.Timeout | undefined;
  #opts: ControllerOptions<T>;
  #log: Logger;
  #abort = new AbortController();
  #workers: Promise<void>[] = [];

  constructor(opts: ControllerOptions<T>) {
    this.#opts = opts;
    this.#log = (opts.logger ?? silentLogger).child({ controller: opts.name });
    this.queue = new WorkQueue(opts.queue);
    this.#ownFactory = !opts.informers;
    this.#informers = opts.informers ?? new InformerFactory(opts.client, this.#log);
    const scope = { namespace: opts.namespace };
    this.informer = this.#informers.informer<T>(opts.type, { ...scope, labelSelector: opts.labelSelector });
    const enqueue = (obj: T) => this.queue.add(keyOf(obj));
    this.informer.on('add', enqueue);
    // A status write by the reconcile itself is not a reason to reconcile again.
    this.informer.on('update', (obj, old) => {
      if (specOrMetadataChanged(obj, old)) enqueue(obj);
    });
    this.informer.on('delete', enqueue);
    for (const child of opts.owns ?? []) {
      const inf = this.#informers.informer<KubeObject>(child, { ...scope, labelSelector: opts.ownedSelector });
      const toOwner = (obj: KubeObject) => {
        const owner = obj.metadata?.ownerReferences?.find((o) => o.controller && o.kind === opts.type.kind);
        if (!owner) return;
        const ns = obj.metadata?.namespace;
        this.queue.add(ns && opts.type.namespaced ? `${ns}/${owner.name}` : owner.name);
      };
      inf.on('add', toOwner);
      inf.on('update', toOwner);
      inf.on('delete', toOwner);
    }
    for (const w of opts.watches ?? []) {
      const inf = this.#informers.informer<KubeObject>(w.type, { ...scope, labelSelector: w.labelSelector });
      const toPrimaries = (obj: KubeObject) => {
        for (const p of w.affected(obj, this.informer.list(obj.metadata?.namespace))) enqueue(p);
      };
      inf.on('add', toPrimaries);
      inf.on('update', toPrimaries);
      inf.on('delete', toPrimaries);
    }
  }

  /** Starts informers, waits for their first list, then starts the workers and the resync. */
  async start(): Promise<void> {
    await this.#informers.start();
    const n = this.#opts.concurrency ?? 2;
    for (let i = 0; i < n; i++) this.#workers.push(this.#work());
    if (this.#opts.resyncMs) {
      this.#resync = setInterval(() => {
        for (const obj of this.informer.list(this.#opts.namespace)) this.queue.add(keyOf(obj));
      }, this.#opts.resyncMs);
      this.#resync.unref();
    }
    this.#log.info({ workers: n, resyncMs: this.#opts.resyncMs }, 'controller started');
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearInterval(this.#resync);
    this.queue.shutdown();
    if (this.#ownFactory) this.#informers.stop();
    await Promise.all(this.#workers);
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#reconcileOne(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #reconcileOne(key: string): Promise<void> {
    const ref = parseKey(key);
    const object = this.informer.get(ref);
    const attempt = this.queue.failures(key) + 1;
    const log = this.#log.child({ key, attempt });
    try {
      const result = await this.#opts.reconcile({
        key,
        namespace: ref.namespace,
        name: ref.name,
        object,
        log,
        signal: this.#abort.signal,
      });
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      if (error instanceof RetryAfterError) {
        log.info({ retryInMs: error.delayMs, reason: error.message }, 'reconcile waiting');
        this.queue.addAfter(key, error.delayMs);
        return;
      }
      const terminal = error instanceof TerminalError;
      let retryInMs: number | undefined;
      if (terminal) this.queue.forget(key);
      else retryInMs = this.queue.addRateLimited(key);
      log.error({ err: error, terminal, retryInMs }, terminal ? 'reconcile failed for good' : 'reconcile failed');
      try {
        await this.#opts.onError?.({ key, error, terminal, attempt, retryInMs }, object);
      } catch (e) {
        log.warn({ err: e }, 'onError handler failed');
      }
    }
  }
}

/**
 * Whether an update is more than a status write: the spec (generation), or the metadata a
 * reconcile acts on (labels, annotations, finalizers, owners, deletion). Kinds without a
 * generation (ConfigMaps, Secrets) always count, as does an object deleted and made again
 * (a new uid) while the watch was down.
 */
export function specOrMetadataChanged(obj: KubeObject, old: KubeObject | undefined): boolean {
  if (!old || obj.metadata?.generation === undefined) return true;
  const a = obj.metadata;
  const b = old.metadata ?? {};
  const same = (x: unknown, y: unknown) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  return !(
    a.uid === b.uid &&
    a.generation === b.generation &&
    a.deletionTimestamp === b.deletionTimestamp &&
    same(a.labels, b.labels) &&
    same(a.annotations, b.annotations) &&
    same(a.finalizers, b.finalizers) &&
    same(a.ownerReferences, b.ownerReferences)
  );
}

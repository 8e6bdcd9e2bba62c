// The reconcile loop: informers feed keys to a work queue, workers call one level-triggered
// reconcile per key. What happens after a reconcile is decided by its outcome:
//   - returns {} / undefined          -> done; failure count cleared
//   - returns { requeueAfterMs }       -> run again after that delay (polling something external)
//   - throws RetryAfterError           -> run again after its delay, not counted as a failure
//   - throws TerminalError             -> stop until the object changes; onError is told
//   - throws anything else             -> retry with per-key exponential backoff; onError is told
import { type KubeClient, type KubeObject, keyOf, parseKey } from './client.ts';
import { RetryAfterError, TerminalError } from './errors.ts';
import { Informer } from './informer.ts';
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
  /**
   * Other types the primaries refer to: a change to one enqueues the primaries `affected`
   * picks from those in its namespace (e.g. the APIs over a Database that became ready).
   */
  watches?: readonly { type: ResourceType; affected: (obj: KubeObject, primaries: readonly T[]) => T[] }[];
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
  #children: Informer<KubeObject>[] = [];
  #opts: ControllerOptions<T>;
  #log: Logger;
  #abort = new AbortController();
  #workers: Promise<void>[] = [];

  constructor(opts: ControllerOptions<T>) {
    this.#opts = opts;
    this.#log = (opts.logger ?? silentLogger).child({ controller: opts.name });
    this.queue = new WorkQueue(opts.queue);
    this.informer = new Informer<T>({
      client: opts.client,
      type: opts.type,
      namespace: opts.namespace,
      labelSelector: opts.labelSelector,
      logger: this.#log,
    });
    const enqueue = (obj: T) => this.queue.add(keyOf(obj));
    this.informer.on('add', enqueue);
    this.informer.on('update', enqueue);
    this.informer.on('delete', enqueue);
    for (const child of opts.owns ?? []) {
      const inf = new Informer<KubeObject>({
        client: opts.client,
        type: child,
        namespace: opts.namespace,
        logger: this.#log,
      });
      const toOwner = (obj: KubeObject) => {
        const owner = obj.metadata?.ownerReferences?.find((o) => o.controller && o.kind === opts.type.kind);
        if (!owner) return;
        const ns = obj.metadata?.namespace;
        this.queue.add(ns && opts.type.namespaced ? `${ns}/${owner.name}` : owner.name);
      };
      inf.on('add', toOwner);
      inf.on('update', toOwner);
      inf.on('delete', toOwner);
      this.#children.push(inf);
    }
    for (const w of opts.watches ?? []) {
      const inf = new Informer<KubeObject>({
        client: opts.client,
        type: w.type,
        namespace: opts.namespace,
        logger: this.#log,
      });
      const toPrimaries = (obj: KubeObject) => {
        for (const p of w.affected(obj, this.informer.list(obj.metadata?.namespace))) enqueue(p);
      };
      inf.on('add', toPrimaries);
      inf.on('update', toPrimaries);
      inf.on('delete', toPrimaries);
      this.#children.push(inf);
    }
  }

  /** Starts informers, waits for their first list, then starts the workers. */
  async start(): Promise<void> {
    await Promise.all([this.informer.start(), ...this.#children.map((c) => c.start())]);
    const n = this.#opts.concurrency ?? 2;
    for (let i = 0; i < n; i++) this.#workers.push(this.#work());
    this.#log.info({ workers: n }, 'controller started');
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.queue.shutdown();
    this.informer.stop();
    for (const c of this.#children) c.stop();
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

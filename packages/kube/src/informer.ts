// An informer that keeps itself alive. client-node's ListWatch relists on 410 Gone but stops
// for good on any other error (a restarted API server, a dropped connection, a failed list);
// this wrapper restarts it with exponential backoff, so feature code never sees a dead watch.
import { type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeClient, KubeObject, ObjectRef } from './client.ts';
import { type Logger, silentLogger } from './log.ts';
import { pathFor, type ResourceType } from './resources.ts';

export type InformerEvent = 'add' | 'update' | 'delete';
/** An event handler: `old` is the object as last seen, for updates. */
export type InformerHandler<T> = (obj: T, old?: T) => void;

export interface InformerOptions {
  client: KubeClient;
  type: ResourceType;
  /** Watch one namespace; all namespaces when omitted. */
  namespace?: string;
  labelSelector?: string;
  logger?: Logger;
  /** Restart delays: initialMs doubling up to maxMs (defaults 250 ms and 30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
}

export class Informer<T extends KubeObject> {
  readonly type: ResourceType;
  // client-node types metadata with Date fields; the wire (and our types) carry strings.
  #lw: ListWatch<KubernetesObject>;
  #log: Logger;
  #initialMs: number;
  #maxMs: number;
  #failures = 0;
  #errors = 0;
  #restarts = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #synced: Promise<void>;
  #markSynced!: () => void;
  #handlers: Record<InformerEvent, InformerHandler<T>[]> = { add: [], update: [], delete: [] };
  /** What each handler is told an object was before an update: the last version seen. */
  #last = new Map<string, T>();

  constructor(opts: InformerOptions) {
    this.type = opts.type;
    this.#log = (opts.logger ?? silentLogger).child({ informer: opts.type.plural, namespace: opts.namespace });
    this.#initialMs = opts.backoff?.initialMs ?? 250;
    this.#maxMs = opts.backoff?.maxMs ?? 30_000;
    this.#synced = new Promise((resolve) => {
      this.#markSynced = resolve;
    });
    const list = async () => {
      const result = await opts.client.list<T>(opts.type, {
        namespace: opts.namespace,
        labelSelector: opts.labelSelector,
      });
      // ListWatch fills its cache synchronously after this promise settles; signal after that.
      setImmediate(this.#markSynced);
      return result as never;
    };
    this.#lw = new ListWatch(
      pathFor(opts.type, { namespace: opts.namespace }),
      new Watch(opts.client.config),
      list,
      false,
      opts.labelSelector,
    );
    this.#lw.on('error', (err: unknown) => this.#onError(err));
    const key = (o: T) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    this.#lw.on('add', ((o: T) => {
      this.#last.set(key(o), o);
      for (const h of this.#handlers.add) h(o);
    }) as never);
    this.#lw.on('update', ((o: T) => {
      const old = this.#last.get(key(o));
      this.#last.set(key(o), o);
      for (const h of this.#handlers.update) h(o, old);
    }) as never);
    this.#lw.on('delete', ((o: T) => {
      this.#last.delete(key(o));
      for (const h of this.#handlers.delete) h(o);
    }) as never);
  }

  /** Times the informer restarted its list/watch after an error. */
  get restarts(): number {
    return this.#restarts;
  }

  on(event: InformerEvent, handler: InformerHandler<T>): void {
    this.#handlers[event].push(handler);
  }

  /** Starts listing and watching; resolves once the first list has filled the cache. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#run();
    await this.#synced;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#lw.stop();
  }

  get(ref: ObjectRef): T | undefined {
    return this.#lw.get(ref.name, ref.namespace) as T | undefined;
  }

  list(namespace?: string): T[] {
    return this.#lw.list(namespace) as T[];
  }

  async #run(): Promise<void> {
    const before = this.#errors;
    await this.#lw.start();
    // start() returns once the list is done and the watch is connected, or after an error.
    if (this.#errors === before) this.#failures = 0;
  }

  #onError(err: unknown): void {
    this.#errors++;
    if (this.#stopped || this.#timer) return;
    const delay = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#failures);
    this.#failures++;
    this.#log.warn({ err: errorText(err), retryInMs: delay }, 'watch failed; restarting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      this.#restarts++;
      this.#run().catch((e: unknown) => this.#onError(e));
    }, delay);
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}

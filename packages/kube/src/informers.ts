// Shared informers: one list/watch and one cache per resource type (and namespace and label
// selector) for the whole process, however many controllers and reconciles read it, as
// controller-runtime's shared cache does. Controllers take their primary, owned and watched
// informers from here; reconciles read objects from the same caches instead of the API server.
import type { KubeClient, KubeObject } from './client.ts';
import { Informer } from './informer.ts';
import { type Logger, silentLogger } from './log.ts';
import type { ResourceType } from './resources.ts';

export interface InformerScope {
  /** One namespace; all when omitted. */
  namespace?: string;
  labelSelector?: string;
}

export class InformerFactory {
  #client: KubeClient;
  #log: Logger;
  #informers = new Map<string, Informer<KubeObject>>();
  #started = new Map<Informer<KubeObject>, Promise<void>>();

  constructor(client: KubeClient, logger: Logger = silentLogger) {
    this.#client = client;
    this.#log = logger;
  }

  /** The shared informer of a type in a scope, made on first use; start() starts it. */
  informer<T extends KubeObject>(type: ResourceType, scope: InformerScope = {}): Informer<T> {
    const key = [type.group, type.version, type.plural, scope.namespace ?? '', scope.labelSelector ?? ''].join('|');
    let inf = this.#informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>({ client: this.#client, type, ...scope, logger: this.#log });
      this.#informers.set(key, inf);
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts every informer made so far (once each); resolves once each has listed. */
  async start(): Promise<void> {
    await Promise.all(
      [...this.#informers.values()].map((i) => {
        let started = this.#started.get(i);
        if (!started) {
          started = i.start();
          this.#started.set(i, started);
        }
        return started;
      }),
    );
  }

  stop(): void {
    for (const i of this.#informers.values()) i.stop();
    this.#started.clear();
  }

  /** How many list/watches the process holds: one per type and scope. */
  get size(): number {
    return this.#informers.size;
  }
}

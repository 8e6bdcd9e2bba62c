// Runs deliveries with a global concurrency limit. With ordering by key, deliveries that share
// a key run one after another in submission order; different keys run side by side.

export class Dispatcher {
  readonly #limit: number;
  #running = 0;
  #waiting: (() => void)[] = [];
  #chains = new Map<string, Promise<void>>();
  #pending = 0;
  #idle: (() => void)[] = [];

  constructor(concurrency: number) {
    this.#limit = concurrency;
  }

  /** Submitted and not yet finished (running or queued). */
  get pending(): number {
    return this.#pending;
  }

  /** Queues `task`; with a key, after every earlier task with that key. Never rejects. */
  submit(key: string | undefined, task: () => Promise<void>): void {
    this.#pending++;
    const run = async () => {
      await this.#acquire();
      try {
        await task();
      } catch {
        // a task reports its own failures; the chain must go on
      } finally {
        this.#release();
      }
    };
    let done: Promise<void>;
    if (key === undefined) {
      done = run();
    } else {
      const previous = this.#chains.get(key) ?? Promise.resolve();
      done = previous.then(run);
      this.#chains.set(key, done);
      void done.then(() => {
        if (this.#chains.get(key) === done) this.#chains.delete(key);
      });
    }
    void done.then(() => {
      this.#pending--;
      if (this.#pending === 0) for (const r of this.#idle.splice(0)) r();
    });
  }

  /** Resolves when nothing is pending. */
  idle(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }

  #acquire(): Promise<void> {
    if (this.#running < this.#limit) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((r) => this.#waiting.push(r));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}

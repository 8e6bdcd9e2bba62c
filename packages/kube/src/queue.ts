// A rate-limited work queue with per-key deduplication, in the shape of client-go's:
// a key is never processed by two workers at once, a key added while it is being processed is
// processed again afterwards, and failures back off exponentially per key.

export interface WorkQueueOptions {
  /** First retry delay after a failure (default 500 ms); doubles per consecutive failure. */
  baseDelayMs?: number;
  /** Upper bound of the retry delay (default 5 minutes). */
  maxDelayMs?: number;
}

export class WorkQueue {
  #queue: string[] = [];
  #dirty = new Set<string>();
  #processing = new Set<string>();
  #failures = new Map<string, number>();
  #timers = new Map<string, NodeJS.Timeout>();
  #waiters: ((key: string | undefined) => void)[] = [];
  #shutdown = false;
  readonly #base: number;
  readonly #max: number;

  constructor(opts: WorkQueueOptions = {}) {
    this.#base = opts.baseDelayMs ?? 500;
    this.#max = opts.maxDelayMs ?? 300_000;
  }

  get length(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shutdown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else {
      this.#queue.push(key);
    }
  }

  /** Adds the key after a delay; a later call for the same key replaces an earlier, longer one. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutdown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const existing = this.#timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, timer);
  }

  /** Adds the key after its backoff delay and counts a failure; returns the delay used. */
  addRateLimited(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    const delay = Math.min(this.#max, this.#base * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Clears the key's failure count (after a success, or when giving up). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Waits for the next key; undefined once the queue is shut down. Call done(key) after. */
  get(): Promise<string | undefined> {
    if (this.#shutdown) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  shutdown(): void {
    this.#shutdown = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
  }
}

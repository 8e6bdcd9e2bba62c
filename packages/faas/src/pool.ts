// A warm pool: generic runtime processes started ahead of need. A function's first request
// takes one and specializes it (loads the code into it) instead of starting a process.
import { type Instance, type ProcessSpec, startProcess, waitHttp } from './process.ts';

export interface WarmPoolOptions {
  spec: ProcessSpec;
  /** Processes kept ready (default 2). */
  size?: number;
  startTimeoutMs?: number;
}

export class WarmPool {
  #ready: Instance[] = [];
  #pending = new Set<Promise<void>>();
  #closed = false;
  #opts: Required<WarmPoolOptions>;

  constructor(opts: WarmPoolOptions) {
    this.#opts = { size: 2, startTimeoutMs: 15_000, ...opts };
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  /** Starts processes until `size` are ready or starting; resolves when all of them are ready. */
  async fill(): Promise<void> {
    while (!this.#closed && this.#ready.length + this.#pending.size < this.#opts.size) {
      const start: Promise<void> = this.#spawn()
        .then((i) => {
          if (this.#closed) void i.stop(0);
          else this.#ready.push(i);
        })
        .finally(() => this.#pending.delete(start));
      this.#pending.add(start);
    }
    await Promise.all(this.#pending);
  }

  /**
   * A warm process; if none is ready but one is starting, waits for it (sooner than a new
   * one); only an empty, idle pool starts a process on the spot. The pool refills behind.
   */
  async take(): Promise<Instance> {
    while (this.#ready.length === 0 && this.#pending.size > 0) {
      await Promise.race(this.#pending).catch(() => {});
    }
    const warm = this.#ready.shift();
    void this.fill().catch(() => {});
    return warm ?? this.#spawn();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#ready.splice(0).map((i) => i.stop(1000)));
  }

  async #spawn(): Promise<Instance> {
    const instance = await startProcess(this.#opts.spec);
    try {
      await waitHttp(instance, '/_/health', this.#opts.startTimeoutMs, 10);
    } catch (e) {
      await instance.stop(0);
      throw e;
    }
    // A pooled process that dies is simply dropped.
    void instance.exited.then(() => {
      this.#ready = this.#ready.filter((i) => i !== instance);
    });
    return instance;
  }
}

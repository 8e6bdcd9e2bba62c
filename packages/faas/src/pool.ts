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
  #starting = 0;
  #closed = false;
  #opts: Required<WarmPoolOptions>;

  constructor(opts: WarmPoolOptions) {
    this.#opts = { size: 2, startTimeoutMs: 15_000, ...opts };
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  /** Starts processes until `size` are ready or starting; resolves when they are healthy. */
  async fill(): Promise<void> {
    const starts: Promise<void>[] = [];
    while (!this.#closed && this.#ready.length + this.#starting < this.#opts.size) {
      this.#starting++;
      starts.push(
        this.#spawn()
          .then((i) => {
            if (this.#closed) void i.stop(0);
            else this.#ready.push(i);
          })
          .finally(() => {
            this.#starting--;
          }),
      );
    }
    await Promise.all(starts);
  }

  /** A warm process (or a fresh one if the pool is empty); the pool refills in the background. */
  async take(): Promise<Instance> {
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

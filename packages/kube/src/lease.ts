// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a lease is taken
// over only after it has not changed for leaseDuration as measured on *our* clock (so clock
// skew between holders does not matter), every write is guarded by resourceVersion, and a
// leader that cannot renew within renewDeadline steps down.
import type { Access } from './access.ts';
import type { KubeClient, KubeObject } from './client.ts';
import { isConflict, isNotFound } from './errors.ts';
import { type Logger, silentLogger } from './log.ts';
import { Resources } from './resources.ts';

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Unique per process, e.g. pod name plus a random suffix. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** What a LeaderElector needs in its Lease's namespace (a Role there, not cluster-wide). */
export const leaderElectionAccess: Access[] = [{ type: Resources.Lease, verbs: ['get', 'create', 'update'] }];

export class LeaderElector {
  #o: Required<Omit<LeaderElectorOptions, 'logger' | 'now'>>;
  #log: Logger;
  #now: () => number;
  #observed: { record: string; at: number } | undefined;
  #leading = false;

  constructor(opts: LeaderElectorOptions) {
    this.#o = {
      client: opts.client,
      namespace: opts.namespace,
      name: opts.name,
      identity: opts.identity,
      leaseDurationMs: opts.leaseDurationMs ?? 15_000,
      renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: opts.retryPeriodMs ?? 2_000,
    };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs)
      throw new Error('renewDeadlineMs must be below leaseDurationMs');
    this.#log = (opts.logger ?? silentLogger).child({
      lease: `${opts.namespace}/${opts.name}`,
      identity: opts.identity,
    });
    this.#now = opts.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /**
   * Campaigns until elected, then calls `lead` with a signal that aborts when leadership is
   * lost; returns when `signal` aborts (releasing the lease) or leadership is lost.
   */
  async run(lead: (signal: AbortSignal) => void | Promise<void>, signal?: AbortSignal): Promise<'lost' | 'stopped'> {
    while (!signal?.aborted) {
      if (await this.#tryAcquireOrRenew()) break;
      await sleep(this.#o.retryPeriodMs, signal);
    }
    if (signal?.aborted) return 'stopped';
    this.#leading = true;
    this.#log.info('became leader');
    const leadership = new AbortController();
    const work = Promise.resolve(lead(leadership.signal)).catch((e: unknown) =>
      this.#log.error({ err: e }, 'leader work failed'),
    );
    let lastRenew = this.#now();
    let outcome: 'lost' | 'stopped' = 'stopped';
    while (!signal?.aborted) {
      await sleep(this.#o.retryPeriodMs, signal);
      if (signal?.aborted) break;
      if (await this.#tryAcquireOrRenew()) {
        lastRenew = this.#now();
      } else if (this.#now() - lastRenew > this.#o.renewDeadlineMs || this.#heldByOther()) {
        outcome = 'lost';
        break;
      }
    }
    this.#leading = false;
    leadership.abort();
    await work;
    if (outcome === 'stopped') await this.#release();
    this.#log.info({ outcome }, 'stopped leading');
    return outcome;
  }

  #heldByOther(): boolean {
    if (!this.#observed) return false;
    const holder = (JSON.parse(this.#observed.record) as Lease['spec'])?.holderIdentity;
    return !!holder && holder !== this.#o.identity;
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.#o;
    const now = this.#now();
    const stamp = microTime(now);
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    try {
      const lease = await client.get<Lease>(Resources.Lease, { namespace, name });
      if (!lease) {
        await client.create<Lease>(Resources.Lease, {
          metadata: { namespace, name },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: 0,
          },
        });
        this.#observe(undefined, now);
        return true;
      }
      const spec = lease.spec ?? {};
      this.#observe(spec, now);
      const holder = spec.holderIdentity;
      const mine = holder === identity;
      const expired =
        !holder || (this.#observed && now - this.#observed.at > (spec.leaseDurationSeconds ?? durationSeconds) * 1000);
      if (!mine && !expired) return false;
      const next = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine ? (spec.acquireTime ?? stamp) : stamp,
        renewTime: stamp,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      };
      const updated = await client.replace<Lease>(Resources.Lease, { metadata: lease.metadata, spec: next });
      this.#observe(updated.spec, now);
      if (!mine) this.#log.info({ previous: holder ?? null }, 'acquired lease');
      return true;
    } catch (e) {
      if (isConflict(e)) return false; // someone else wrote first; try again next period
      this.#log.warn({ err: e }, 'lease request failed');
      return false;
    }
  }

  /** Remembers when the lease record last changed, on our clock. */
  #observe(spec: Lease['spec'], now: number): void {
    const record = JSON.stringify(spec ?? {});
    if (this.#observed?.record !== record) this.#observed = { record, at: now };
  }

  async #release(): Promise<void> {
    const { client, namespace, name, identity } = this.#o;
    try {
      const lease = await client.get<Lease>(Resources.Lease, { namespace, name });
      if (lease?.spec?.holderIdentity !== identity) return;
      await client.replace<Lease>(Resources.Lease, {
        metadata: lease.metadata,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.#now()) },
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) this.#log.warn({ err: e }, 'could not release lease');
    }
  }
}

/** RFC 3339 with microseconds, the Lease API's MicroTime format. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

// The cluster autoscaler: every interval, sum the in-flight requests the gateways report per
// revision, feed them to the autoscaler decision (@plinth/faas decide), and set each serving
// revision's replicas, through setReplicas (@plinth/kube), the one writer of the field.
import { FunctionKind, type FunctionObject } from '@plinth/api';
import { type ConcurrencySource, decide, newScaleState, type ScaleState } from '@plinth/faas';
import {
  type Access,
  type KubeClient,
  type KubeObject,
  type Logger,
  READ,
  Resources,
  replicasAccess,
  setReplicas,
  silentLogger,
} from '@plinth/kube';

/** What the autoscaler reads (Functions and Deployments, from the shared caches) and writes. */
export const autoscalerAccess: Access[] = [{ type: Resources.Deployment, verbs: READ }, ...replicasAccess];

export type { ConcurrencySource };

export interface DeploymentObject extends KubeObject {
  spec?: { replicas?: number };
}

export interface ClusterAutoscalerOptions {
  client: KubeClient;
  source: ConcurrencySource;
  /** The Functions to scale (the operator's informer cache). */
  functions: () => readonly FunctionObject[];
  /** A revision's Deployment from the operator's informer cache. */
  deployment: (namespace: string, name: string) => DeploymentObject | undefined;
  intervalMs?: number;
  now?: () => number;
  logger?: Logger;
}

export class ClusterAutoscaler {
  #o: ClusterAutoscalerOptions;
  #states = new Map<string, ScaleState>();
  #timer: NodeJS.Timeout | undefined;
  #log: Logger;

  constructor(opts: ClusterAutoscalerOptions) {
    this.#o = opts;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'autoscaler' });
  }

  /** One round; returns the replicas set per `namespace/revision` (only changes). */
  async step(): Promise<Map<string, number>> {
    const now = (this.#o.now ?? Date.now)();
    const inflight = await this.#o.source();
    const changed = new Map<string, number>();
    const live = new Set<string>();
    for (const fn of this.#o.functions()) {
      const ns = fn.metadata.namespace ?? 'default';
      const scaling = FunctionKind.withDefaults(fn.spec).scaling;
      for (const t of fn.status?.traffic ?? []) {
        const key = `${ns}/${t.revision}`;
        live.add(key);
        let state = this.#states.get(key);
        if (!state) {
          state = newScaleState(now);
          this.#states.set(key, state);
        }
        const n = inflight.get(key) ?? 0;
        state.samples.push({ at: now, inflight: n });
        if (n > 0) state.lastActiveAt = now;
        try {
          // From the operator's shared cache when it has one: no API request per revision per round.
          const d = this.#o.deployment(ns, t.revision);
          if (!d) continue;
          const current = d.spec?.replicas ?? 1;
          const decision = decide(state, current, scaling, now);
          if (decision.replicas !== current) {
            await setReplicas(this.#o.client, ns, t.revision, decision.replicas);
            changed.set(key, decision.replicas);
            this.#log.info(
              { revision: key, from: current, to: decision.replicas, reason: decision.reason, inflight: n },
              'scaled',
            );
          }
        } catch (e) {
          this.#log.warn({ revision: key, err: (e as Error).message }, 'cannot scale');
        }
      }
    }
    for (const key of this.#states.keys()) if (!live.has(key)) this.#states.delete(key);
    return changed;
  }

  start(): void {
    const tick = () => {
      this.step()
        .catch((e: unknown) => this.#log.warn({ err: (e as Error).message }, 'autoscaler step failed'))
        .finally(() => {
          if (this.#timer) this.#timer = setTimeout(tick, this.#o.intervalMs ?? 2000);
        });
    };
    this.#timer = setTimeout(tick, this.#o.intervalMs ?? 2000);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

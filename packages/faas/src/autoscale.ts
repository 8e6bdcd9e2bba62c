// The autoscaler's decision, as a pure function of observed concurrency (Knative's KPA in
// small): a stable window averages load for steady scaling, a short panic window reacts to
// bursts and never scales down while panicking, scale-down waits scaleDownDelay, and a revision
// with no requests for scaleToZeroAfter goes to zero.

export interface ScalingSpec {
  minReplicas: number;
  maxReplicas: number;
  targetConcurrency: number;
  scaleToZeroAfterSeconds: number;
  scaleDownDelaySeconds: number;
}

export interface AutoscalerOptions {
  stableWindowMs: number;
  panicWindowMs: number;
  /** Enter panic mode when the panic-window demand reaches this multiple of current capacity. */
  panicThreshold: number;
}

export const defaultAutoscalerOptions: AutoscalerOptions = {
  stableWindowMs: 60_000,
  panicWindowMs: 6_000,
  panicThreshold: 2,
};

/** One observation of in-flight requests for a revision. */
export interface Sample {
  at: number;
  inflight: number;
}

export interface ScaleState {
  /** Recent samples, oldest first; the caller appends, decide() prunes. */
  samples: Sample[];
  /** Last time a request was in flight (or arrived). */
  lastActiveAt: number;
  /** When panic mode started; undefined when calm. */
  panicSince?: number;
  /** Highest recommendation seen since this time, for the scale-down delay. */
  recent: { at: number; replicas: number }[];
}

export interface Decision {
  replicas: number;
  panic: boolean;
  reason: string;
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export function decide(
  state: ScaleState,
  current: number,
  spec: ScalingSpec,
  now: number,
  opts: AutoscalerOptions = defaultAutoscalerOptions,
): Decision {
  state.samples = state.samples.filter((s) => now - s.at <= opts.stableWindowMs);
  const stable = avg(state.samples.map((s) => s.inflight));
  const panicSamples = state.samples.filter((s) => now - s.at <= opts.panicWindowMs).map((s) => s.inflight);
  const burst = avg(panicSamples);
  const clamp = (n: number) => Math.min(spec.maxReplicas, Math.max(spec.minReplicas, n));

  const wantStable = Math.ceil(stable / spec.targetConcurrency);
  const wantPanic = Math.ceil(burst / spec.targetConcurrency);
  if (burst > 0 && burst >= opts.panicThreshold * Math.max(current, 1) * spec.targetConcurrency) state.panicSince = now;
  else if (state.panicSince !== undefined && now - state.panicSince > opts.stableWindowMs) state.panicSince = undefined;
  const panic = state.panicSince !== undefined;

  let want = panic ? Math.max(current, wantPanic, wantStable) : wantStable;
  let reason = panic ? 'panic: burst above capacity' : 'stable window';

  // Scale down only to the highest recommendation of the last scaleDownDelay.
  state.recent = state.recent.filter((r) => now - r.at <= spec.scaleDownDelaySeconds * 1000);
  state.recent.push({ at: now, replicas: want });
  const held = Math.max(...state.recent.map((r) => r.replicas));
  if (held > want && held <= current) {
    want = Math.min(held, current);
    reason = 'scale-down delay';
  }

  const idleMs = now - state.lastActiveAt;
  if (want === 0 && current > 0 && idleMs < spec.scaleToZeroAfterSeconds * 1000) {
    want = 1;
    reason = 'idle, waiting scaleToZeroAfter before zero';
  } else if (want === 0 && idleMs >= spec.scaleToZeroAfterSeconds * 1000) {
    reason = 'idle: scaled to zero';
  }
  return { replicas: clamp(want), panic, reason };
}

export function newScaleState(now: number): ScaleState {
  return { samples: [], lastActiveAt: now, recent: [] };
}

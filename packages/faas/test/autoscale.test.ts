import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, newScaleState, type ScalingSpec } from '@plinth/faas';

const spec: ScalingSpec = {
  minReplicas: 0,
  maxReplicas: 10,
  targetConcurrency: 10,
  scaleToZeroAfterSeconds: 60,
  scaleDownDelaySeconds: 30,
};

function feed(state: ReturnType<typeof newScaleState>, from: number, to: number, inflight: number) {
  for (let t = from; t <= to; t += 1000) {
    state.samples.push({ at: t, inflight });
    if (inflight > 0) state.lastActiveAt = t;
  }
}

describe('autoscaler decision', () => {
  it('scales to the stable average divided by the target concurrency', () => {
    const s = newScaleState(0);
    feed(s, 0, 60_000, 35);
    assert.deepEqual(decide(s, 4, spec, 60_000), { replicas: 4, panic: false, reason: 'stable window' });
  });

  it('panics on a burst well above capacity and scales up at once', () => {
    const s = newScaleState(0);
    feed(s, 0, 54_000, 5);
    feed(s, 55_000, 60_000, 80);
    const d = decide(s, 1, spec, 60_000);
    assert.equal(d.panic, true);
    // the 6 s panic window holds one sample at 5 and six at 80: ceil(69.3 / 10) = 7
    assert.equal(d.replicas, 7);
  });

  it('never exceeds maxReplicas nor drops below minReplicas', () => {
    const s = newScaleState(0);
    feed(s, 0, 60_000, 1000);
    assert.equal(decide(s, 10, spec, 60_000).replicas, 10);
    const idle = newScaleState(0);
    assert.equal(decide(idle, 0, { ...spec, minReplicas: 2 }, 120_000).replicas, 2);
  });

  it('waits scaleDownDelay before scaling down after load drops', () => {
    const s = newScaleState(0);
    feed(s, 0, 60_000, 40);
    assert.equal(decide(s, 4, spec, 60_000).replicas, 4);
    // load drops to 10: the stable average falls slowly, and the delay holds the old count
    feed(s, 61_000, 70_000, 0);
    const held = decide(s, 4, spec, 70_000);
    assert.equal(held.replicas, 4);
  });

  it('keeps one replica while idle for less than scaleToZeroAfter, then goes to zero', () => {
    const s = newScaleState(0);
    s.lastActiveAt = 0;
    feed(s, 0, 0, 1);
    feed(s, 70_000, 100_000, 0);
    assert.equal(decide(s, 1, { ...spec, scaleToZeroAfterSeconds: 200 }, 100_000).replicas, 1);
    const later = decide(s, 1, spec, 100_000);
    assert.equal(later.replicas, 0);
    assert.equal(later.reason, 'idle: scaled to zero');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getCondition, isConditionTrue, setCondition } from '@plinth/kube';

const t1 = new Date('2026-01-01T00:00:00Z');
const t2 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  it('adds a condition with observedGeneration and a second-precision timestamp', () => {
    const c = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting' },
      {
        observedGeneration: 3,
        now: t1,
      },
    );
    assert.deepEqual(c, [
      {
        type: 'Ready',
        status: 'False',
        reason: 'Pending',
        message: 'waiting',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        observedGeneration: 3,
      },
    ]);
  });

  it('keeps lastTransitionTime while the status is unchanged and moves it on a change', () => {
    let c = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '' }, { now: t1 });
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'B', message: 'still' }, { now: t2 });
    assert.equal(getCondition(c, 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(getCondition(c, 'Ready')?.reason, 'B');
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'Done', message: '' }, { now: t2 });
    assert.equal(getCondition(c, 'Ready')?.lastTransitionTime, '2026-01-01T00:05:00Z');
    assert.ok(isConditionTrue(c, 'Ready'));
  });

  it('leaves other conditions and the input untouched', () => {
    const input = setCondition([], { type: 'Degraded', status: 'False', reason: 'OK', message: '' }, { now: t1 });
    const out = setCondition(input, { type: 'Ready', status: 'True', reason: 'OK', message: '' }, { now: t2 });
    assert.equal(input.length, 1);
    assert.deepEqual(
      out.map((c) => c.type),
      ['Degraded', 'Ready'],
    );
  });
});

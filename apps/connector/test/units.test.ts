import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher } from '../src/dispatcher.ts';
import { PartitionWatermark } from '../src/offsets.ts';

describe('PartitionWatermark', () => {
  it('commits only up to the first unfinished offset', () => {
    const w = new PartitionWatermark<string>();
    for (const o of [10n, 11n, 12n, 13n]) w.track(o, `m${o}`);
    assert.equal(w.complete(12n), undefined, '10 and 11 are still in flight');
    assert.deepEqual(w.complete(10n), { offset: 10n, payload: 'm10' });
    assert.equal(w.complete(13n), undefined);
    assert.deepEqual(w.complete(11n), { offset: 13n, payload: 'm13' }, 'finishing 11 releases everything up to 13');
    assert.equal(w.inflight, 0);
  });
});

describe('Dispatcher', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('keeps per-key order while running different keys concurrently, within the limit', async () => {
    const d = new Dispatcher(3);
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    for (let i = 0; i < 5; i++) {
      for (const key of ['a', 'b', 'c', 'd']) {
        d.submit(key, async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(key === 'a' ? 5 : 1 + (i % 3));
          log.push(`${key}${i}`);
          running--;
        });
      }
    }
    await d.idle();
    for (const key of ['a', 'b', 'c', 'd']) {
      assert.deepEqual(
        log.filter((x) => x.startsWith(key)),
        [0, 1, 2, 3, 4].map((i) => `${key}${i}`),
      );
    }
    assert.equal(peak, 3);
  });

  it('goes on after a failing task', async () => {
    const d = new Dispatcher(1);
    const log: number[] = [];
    d.submit('k', async () => {
      throw new Error('boom');
    });
    d.submit('k', async () => {
      log.push(2);
    });
    await d.idle();
    assert.deepEqual(log, [2]);
  });
});

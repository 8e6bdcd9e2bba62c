import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue } from '@plinth/kube';

describe('WorkQueue', () => {
  it('deduplicates keys waiting in the queue', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('never hands one key to two workers, and re-queues a key added while it was processing', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    q.add('a'); // changed while being reconciled
    assert.equal(q.length, 0, 'must not be handed out while processing');
    q.done(first ?? '');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.add('x');
    assert.equal(await next, 'x');
  });

  it('backs off exponentially per key up to the maximum, and forget resets it', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 500 });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => q.addRateLimited('k')),
      [100, 200, 400, 500, 500],
    );
    assert.equal(q.failures('k'), 5);
    q.forget('k');
    assert.equal(q.addRateLimited('k'), 100);
    q.shutdown();
  });

  it('delivers a delayed key after its delay', async () => {
    const q = new WorkQueue();
    const t0 = Date.now();
    q.addAfter('later', 50);
    assert.equal(await q.get(), 'later');
    assert.ok(Date.now() - t0 >= 45);
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.shutdown();
    assert.equal(await next, undefined);
  });
});

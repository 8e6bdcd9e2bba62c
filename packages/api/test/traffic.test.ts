// A Function's traffic split, resolved against the revisions that exist: which revision gets
// which share, where latestRevision points while a rollout is under way, tagged routes, and the
// splits refused before anything is resolved (the same rules the API server applies as CEL).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FunctionKind, type FunctionSpec, resolveTraffic } from '@plinth/api';

const spec = (traffic?: FunctionSpec['traffic']): FunctionSpec =>
  FunctionKind.withDefaults({ image: 'registry.example.com/team/app:1', ...(traffic ? { traffic } : {}) } as never);
const revisions = (latestCreated: string, latestReady: string | undefined, ...existing: string[]) => ({
  latestCreated,
  ...(latestReady ? { latestReady } : {}),
  existing: new Set(existing),
});

describe('resolveTraffic', () => {
  it('sends everything to the latest ready revision when no split is declared', () => {
    assert.deepEqual(resolveTraffic(spec(), revisions('shop-00002', 'shop-00002', 'shop-00001', 'shop-00002')), [
      { revision: 'shop-00002', percent: 100, latestRevision: true },
    ]);
  });

  it('keeps latestRevision on the last ready revision while a newer one is not ready yet', () => {
    assert.deepEqual(resolveTraffic(spec(), revisions('shop-00003', 'shop-00002', 'shop-00002', 'shop-00003')), [
      { revision: 'shop-00002', percent: 100, latestRevision: true },
    ]);
  });

  it('points latestRevision at the newest created revision while none is ready (the first rollout)', () => {
    assert.deepEqual(resolveTraffic(spec(), revisions('shop-00001', undefined, 'shop-00001')), [
      { revision: 'shop-00001', percent: 100, latestRevision: true },
    ]);
  });

  it('splits a canary between a pinned revision and the latest, in the declared order, with its tag', () => {
    const split = spec([
      { revision: 'shop-00001', percent: 90 },
      { latestRevision: true, percent: 10, tag: 'canary' },
    ]);
    assert.deepEqual(resolveTraffic(split, revisions('shop-00002', 'shop-00002', 'shop-00001', 'shop-00002')), [
      { revision: 'shop-00001', percent: 90 },
      { revision: 'shop-00002', percent: 10, tag: 'canary', latestRevision: true },
    ]);
  });

  it('adds up untagged shares that land on the same revision', () => {
    // Once the latest is the pinned revision, both entries serve it: one target with their sum.
    const split = spec([
      { revision: 'shop-00002', percent: 30 },
      { latestRevision: true, percent: 70 },
    ]);
    assert.deepEqual(resolveTraffic(split, revisions('shop-00002', 'shop-00002', 'shop-00001', 'shop-00002')), [
      { revision: 'shop-00002', percent: 100 },
    ]);
  });

  it('keeps a tagged route of its own, even at 0% and on a revision that also takes untagged traffic', () => {
    const split = spec([
      { latestRevision: true, percent: 100 },
      { revision: 'shop-00001', percent: 0, tag: 'previous' },
      { revision: 'shop-00002', percent: 0, tag: 'current' },
    ]);
    assert.deepEqual(resolveTraffic(split, revisions('shop-00002', 'shop-00002', 'shop-00001', 'shop-00002')), [
      { revision: 'shop-00002', percent: 100, latestRevision: true },
      { revision: 'shop-00001', percent: 0, tag: 'previous' },
      { revision: 'shop-00002', percent: 0, tag: 'current' },
    ]);
  });

  it('refuses a split naming a revision that does not exist, naming the entry and the revisions that do', () => {
    const split = spec([
      { latestRevision: true, percent: 50 },
      { revision: 'shop-00009', percent: 50 },
    ]);
    assert.throws(() => resolveTraffic(split, revisions('shop-00002', 'shop-00002', 'shop-00002', 'shop-00001')), {
      message: 'spec.traffic[1]: revision "shop-00009" does not exist (known: shop-00001, shop-00002)',
    });
  });
});

describe('traffic splits the Function kind refuses', () => {
  const issues = (traffic: unknown) =>
    FunctionKind.validate({
      apiVersion: FunctionKind.apiVersion,
      kind: FunctionKind.kind,
      metadata: { name: 'shop' },
      spec: { image: 'registry.example.com/team/app:1', traffic },
    });

  it('accepts a split whose percents add up to 100', () => {
    assert.deepEqual(
      issues([
        { revision: 'shop-00001', percent: 60 },
        { latestRevision: true, percent: 40 },
      ]),
      [],
    );
  });

  it('refuses percents that do not add up to 100', () => {
    for (const percents of [
      [60, 30],
      [60, 50],
    ]) {
      assert.deepEqual(
        issues([
          { revision: 'shop-00001', percent: percents[0] },
          { latestRevision: true, percent: percents[1] },
        ]),
        [{ path: 'spec.traffic', message: 'traffic percents must add up to 100' }],
        percents.join('+'),
      );
    }
  });

  it('refuses an entry that names a revision and follows the latest, or does neither', () => {
    const both = {
      path: 'spec.traffic',
      message: 'each traffic entry names a revision or sets latestRevision: true, not both',
    };
    assert.deepEqual(issues([{ revision: 'shop-00001', latestRevision: true, percent: 100 }]), [both]);
    assert.deepEqual(issues([{ percent: 100, tag: 'orphan' }]), [both]);
    assert.deepEqual(issues([{ latestRevision: false, percent: 100 }]), [both]);
  });

  it('refuses a share outside 0..100 and an empty split', () => {
    assert.deepEqual(
      issues([{ latestRevision: true, percent: 101 }]).map((i) => i.path),
      ['spec.traffic[0].percent'],
    );
    assert.deepEqual(
      issues([]).map((i) => i.path),
      ['spec.traffic'],
    );
  });
});

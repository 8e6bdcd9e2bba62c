// Which updates re-queue a reconcile: not a status write of its own, but any change to the spec
// or the metadata a reconcile acts on, and any change to kinds without a generation.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type KubeObject, specOrMetadataChanged } from '@plinth/kube';

const fn = (meta: Record<string, unknown> = {}, status: unknown = {}) =>
  ({ metadata: { name: 'f', uid: 'u1', generation: 1, labels: { a: 'b' }, ...meta }, status }) as KubeObject;

it('ignores a status-only update and re-queues on spec, metadata or identity changes', () => {
  assert.equal(
    specOrMetadataChanged(fn({ resourceVersion: '2' }, { ready: true }), fn({ resourceVersion: '1' })),
    false,
  );
  assert.equal(specOrMetadataChanged(fn({ generation: 2 }), fn()), true, 'a spec change');
  assert.equal(specOrMetadataChanged(fn({ labels: { a: 'c' } }), fn()), true, 'a label');
  assert.equal(specOrMetadataChanged(fn({ finalizers: ['x'] }), fn()), true, 'a finalizer');
  assert.equal(specOrMetadataChanged(fn({ deletionTimestamp: 'now' }), fn()), true, 'deletion');
  assert.equal(specOrMetadataChanged(fn({ uid: 'u2' }), fn()), true, 'deleted and made again');
  assert.equal(specOrMetadataChanged(fn(), undefined), true, 'first sight');
  const cm = (v: string) => ({ metadata: { name: 'c' }, data: { k: v } }) as KubeObject;
  assert.equal(specOrMetadataChanged(cm('2'), cm('1')), true, 'no generation: every update counts');
});

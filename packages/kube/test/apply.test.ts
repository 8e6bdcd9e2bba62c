import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statesAll } from '@plinth/kube';

test('statesAll: a live object with defaults added still states what was rendered', () => {
  const rendered = { metadata: { name: 'a', labels: { x: '1' } }, spec: { ports: [{ port: 80 }] } };
  const live = {
    metadata: { name: 'a', labels: { x: '1' }, uid: 'u', resourceVersion: '7' },
    spec: { ports: [{ port: 80, protocol: 'TCP' }], type: 'ClusterIP' },
  };
  assert.equal(statesAll(rendered, live), true);
});

test('statesAll: a changed value, a missing key or a list of another length is a difference', () => {
  const rendered = { spec: { ports: [{ port: 80 }], selector: { app: 'a' } } };
  assert.equal(statesAll(rendered, { spec: { ports: [{ port: 81 }], selector: { app: 'a' } } }), false);
  assert.equal(statesAll(rendered, { spec: { ports: [{ port: 80 }] } }), false);
  assert.equal(statesAll(rendered, { spec: { ports: [{ port: 80 }, { port: 81 }], selector: { app: 'a' } } }), false);
  assert.equal(statesAll({ data: { k: 'v' } }, { data: { k: 'w' } }), false);
});

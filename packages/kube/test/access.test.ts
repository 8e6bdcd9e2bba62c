import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPLY, READ, Resources, rulesOf } from '@plinth/kube';

test('rulesOf unites verbs per resource and groups resources that share verbs', () => {
  const rules = rulesOf([
    { type: Resources.Deployment, verbs: READ },
    { type: Resources.Deployment, verbs: ['delete', ...APPLY] },
    { type: Resources.Secret, verbs: READ },
    { type: Resources.ConfigMap, verbs: ['watch', 'get', 'list'] },
    { type: Resources.Deployment, subresource: 'scale', verbs: ['patch'] },
  ]);
  assert.deepEqual(rules, [
    { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
    { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['patch'] },
  ]);
});

test('rulesOf keeps named grants apart from grants on every object', () => {
  const rules = rulesOf([
    { type: Resources.ClusterRole, verbs: ['bind'], resourceNames: ['b', 'a'] },
    { type: Resources.ClusterRole, verbs: ['get'] },
  ]);
  assert.deepEqual(rules, [
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['get'] },
    {
      apiGroups: ['rbac.authorization.k8s.io'],
      resources: ['clusterroles'],
      verbs: ['bind'],
      resourceNames: ['a', 'b'],
    },
  ]);
});

test('rulesOf does not depend on the order of the declarations', () => {
  const access = [
    { type: Resources.Pod, verbs: ['delete'] as const },
    { type: Resources.Namespace, verbs: READ },
    { type: Resources.Pod, verbs: READ },
  ];
  assert.deepEqual(rulesOf(access), rulesOf([...access].reverse()));
});

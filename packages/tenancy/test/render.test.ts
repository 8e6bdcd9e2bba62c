// A tenant's virtual cluster is a Flux HelmRelease of the pinned vcluster chart in its first
// namespace, valid against Flux's published schema.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { HelmRelease } from '@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2';
import { renderVirtualCluster, VCLUSTER_CHART } from '@plinth/tenancy';

it('renders a valid vcluster HelmRelease in the first namespace', () => {
  const release = renderVirtualCluster({
    apiVersion: 'plinth.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: 'team-a' },
    spec: { namespaces: ['team-a', 'team-a-staging'], virtualCluster: { enabled: true } },
  } as Parameters<typeof renderVirtualCluster>[0]);
  assert.equal(release.metadata?.namespace, 'team-a');
  assert.doesNotThrow(() => new HelmRelease(release as ConstructorParameters<typeof HelmRelease>[0]).validate());
  const chart = (release as unknown as { spec: { chart: { spec: { chart: string; version: string } } } }).spec.chart
    .spec;
  assert.deepEqual([chart.chart, chart.version], [VCLUSTER_CHART.chart, VCLUSTER_CHART.version]);
});

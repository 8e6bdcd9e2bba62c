// The catalog: every composed part, in the order they are listed in docs/catalog.md.
import { certManager, trustManager } from './cert-manager.ts';
import type { Component } from './component.ts';
import { cloudnativePg, flink, nfs, strimzi } from './data.ts';
import { gateway, istioBase, istioCni, istiod, ztunnel } from './edge.ts';
import { dex, fluentBit, fluentd, gpuOperator, headlamp, loki, monitoring, vcluster, zot } from './ops.ts';
import { plinth } from './plinth.ts';

export const catalog: readonly Component[] = [
  certManager,
  trustManager,
  gateway,
  istioBase,
  istiod,
  istioCni,
  ztunnel,
  nfs,
  strimzi,
  flink,
  cloudnativePg,
  zot,
  dex,
  monitoring,
  loki,
  fluentBit,
  fluentd,
  headlamp,
  gpuOperator,
  vcluster,
  plinth,
];

export type { Component, HealthCheck, HelmSource } from './component.ts';
export { PLINTH_NAMESPACE, PLINTH_VERSION, plinthManifests } from './plinth.ts';

// One composed part of the platform: where it comes from (a pinned upstream Helm chart, or
// manifests Plinth renders), the values computed from the config, its namespace, what it
// needs installed first, and how to tell it is healthy.
import type { KubeObject } from '@plinth/kube';
import type { ComponentKey, PlatformConfig } from '../config.ts';

export interface HelmSource {
  /** https:// chart repository or oci:// registry path (without the chart name). */
  repository: string;
  chart: string;
  version: string;
}

/** How `plinth up` and `plinth status` tell a component is healthy. */
export interface HealthCheck {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'HelmRelease';
  namespace: string;
  name: string;
}

export interface Component {
  /** Unique, DNS-1123; also the Flux object names. */
  name: string;
  /** The config switch that turns it on. */
  enabledBy: ComponentKey;
  /** A further condition, e.g. fluentd only with logging.fluentd. */
  when?: (c: PlatformConfig) => boolean;
  /** What it is, for the catalog table. */
  description: string;
  /** Why this upstream, for the catalog table. */
  why: string;
  namespace: string;
  dependsOn: string[];
  helm?: HelmSource & { values: (c: PlatformConfig) => Record<string, unknown> };
  /** Only the chart source is rendered (tenants install releases of it). */
  sourceOnly?: boolean;
  /** Objects of its own that need the chart's CRDs (a ClusterIssuer, a Kafka cluster, ...). */
  config?: (c: PlatformConfig) => KubeObject[];
  /** Manifests rendered by Plinth instead of a chart (Plinth's own parts). */
  manifests?: (c: PlatformConfig) => KubeObject[];
  health: (c: PlatformConfig) => HealthCheck[];
  /** Where people reach it, if anywhere: a host name under the base domain. */
  url?: (c: PlatformConfig) => string;
  /** Where its initial credentials are, for `plinth up` to say. */
  credentials?: string;
}

export const releaseHealth = (name: string): HealthCheck[] => [{ kind: 'HelmRelease', namespace: 'flux-system', name }];

/** The StorageClass stateful parts use: the declared one, plinth-nfs with NFS, or the cluster default. */
export const storageClass = (c: PlatformConfig): Record<string, string> =>
  c.storage.storageClass
    ? { storageClassName: c.storage.storageClass }
    : c.enabled.nfs
      ? { storageClassName: 'plinth-nfs' }
      : {};

/** Literal manifests as KubeObjects (their extra fields, spec and the like, are kept as they are). */
export const objects = (...xs: object[]): KubeObject[] => xs as KubeObject[];

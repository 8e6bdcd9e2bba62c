// Operating the platform: an OCI registry that also serves Helm charts, Dex, metrics with
// Grafana, logs (Loki, Fluent Bit, optionally fluentd), Headlamp, GPUs, vcluster.
import { renderDexConfig, VCLUSTER_CHART } from '@plinth/tenancy';
import type { PlatformConfig } from '../config.ts';
import { type Component, releaseHealth, storageClass } from './component.ts';

const pvc = (c: PlatformConfig, size: string) => ({ enabled: true, size, ...storageClass(c) });

export const zot: Component = {
  name: 'zot',
  enabledBy: 'registry',
  description: 'OCI registry for images and Helm charts (the cluster-local chart registry)',
  why: 'CNCF sandbox, OCI-native, serves Helm charts as OCI artifacts; ChartMuseum is unmaintained and Harbor is much heavier.',
  namespace: 'zot',
  dependsOn: ['cert-manager', 'csi-driver-nfs'],
  helm: {
    repository: 'https://zotregistry.dev/helm-charts',
    chart: 'zot',
    version: '0.1.79',
    values: (c) => ({
      persistence: true,
      pvc: { create: true, storage: c.storage.sizes.registry, ...storageClass(c) },
    }),
  },
  url: (c) => `https://registry.${c.domain}`,
  health: () => releaseHealth('zot'),
};

export const dex: Component = {
  name: 'dex',
  enabledBy: 'dex',
  description: 'OIDC issuer for the directory (LDAP / Active Directory connector)',
  why: 'Small, stateless, CNCF sandbox; the LDAP connector resolves nested groups. Its config comes from the identity section (docs/identity.md).',
  namespace: 'dex',
  dependsOn: ['cert-manager'],
  helm: {
    repository: 'https://charts.dexidp.io',
    chart: 'dex',
    version: '0.23.0',
    values: (c) => ({
      replicaCount: c.replicas > 1 ? 2 : 1,
      config: c.identity
        ? renderDexConfig(c.identity, {
            web: { https: '0.0.0.0:5554', tlsCert: '/etc/dex/tls/tls.crt', tlsKey: '/etc/dex/tls/tls.key' },
            clientSecretEnv: 'DEX_CLIENT_SECRET',
            bindPasswordEnv: 'LDAP_BIND_PASSWORD',
            storage: 'kubernetes',
          })
        : {},
      envFrom: [{ secretRef: { name: 'dex-secrets' } }],
      https: { enabled: true },
    }),
  },
  url: (c) => `https://dex.${c.domain}`,
  credentials: 'Secret dex/dex-secrets (LDAP_BIND_PASSWORD, DEX_CLIENT_SECRET): create it before `plinth up`',
  health: () => releaseHealth('dex'),
};

export const monitoring: Component = {
  name: 'kube-prometheus-stack',
  enabledBy: 'monitoring',
  description: 'Prometheus, Alertmanager, Grafana with dashboards',
  why: 'The standard packaging of the Prometheus operator; Plinth exports Prometheus metrics everywhere.',
  namespace: 'monitoring',
  dependsOn: ['cert-manager', 'csi-driver-nfs'],
  helm: {
    repository: 'https://prometheus-community.github.io/helm-charts',
    chart: 'kube-prometheus-stack',
    version: '76.5.1',
    values: (c) => ({
      prometheus: {
        prometheusSpec: {
          serviceMonitorSelectorNilUsesHelmValues: false,
          podMonitorSelectorNilUsesHelmValues: false,
          storageSpec: {
            volumeClaimTemplate: {
              spec: { resources: { requests: { storage: c.storage.sizes.prometheus } }, ...storageClass(c) },
            },
          },
        },
      },
      grafana: {
        admin: { existingSecret: 'grafana-admin' },
        sidecar: { dashboards: { enabled: true, searchNamespace: 'ALL' } },
      },
    }),
  },
  url: (c) => `https://grafana.${c.domain}`,
  credentials: 'Secret monitoring/grafana-admin (admin-user, admin-password)',
  health: () => releaseHealth('kube-prometheus-stack'),
};

export const loki: Component = {
  name: 'loki',
  enabledBy: 'logging',
  description: 'Log storage, queried from Grafana',
  why: "Grafana's log store; indexes labels only, cheap to run next to Prometheus.",
  namespace: 'logging',
  dependsOn: ['cert-manager', 'csi-driver-nfs'],
  helm: {
    repository: 'https://grafana.github.io/helm-charts',
    chart: 'loki',
    version: '6.36.1',
    values: (c) => ({
      deploymentMode: 'SingleBinary',
      loki: {
        auth_enabled: false,
        commonConfig: { replication_factor: 1 },
        storage: { type: 'filesystem' },
        schemaConfig: {
          configs: [
            {
              from: '2025-01-01',
              store: 'tsdb',
              object_store: 'filesystem',
              schema: 'v13',
              index: { prefix: 'index_', period: '24h' },
            },
          ],
        },
      },
      singleBinary: { replicas: 1, persistence: pvc(c, c.storage.sizes.loki) },
      read: { replicas: 0 },
      write: { replicas: 0 },
      backend: { replicas: 0 },
    }),
  },
  health: () => releaseHealth('loki'),
};

export const fluentBit: Component = {
  name: 'fluent-bit',
  enabledBy: 'logging',
  description: 'Ships every container log to Loki (or to fluentd when it is on)',
  why: 'The CNCF log shipper; Promtail reached end of life.',
  namespace: 'logging',
  dependsOn: ['loki'],
  helm: {
    repository: 'https://fluent.github.io/helm-charts',
    chart: 'fluent-bit',
    version: '0.50.0',
    values: (c) => ({
      config: {
        outputs: c.fluentd
          ? '[OUTPUT]\n    Name forward\n    Match *\n    Host fluentd.logging.svc\n    Port 24224\n'
          : '[OUTPUT]\n    Name loki\n    Match kube.*\n    Host loki.logging.svc\n    Port 3100\n    Labels job=fluent-bit\n    Auto_Kubernetes_Labels on\n',
      },
    }),
  },
  health: () => releaseHealth('fluent-bit'),
};

export const fluentd: Component = {
  name: 'fluentd',
  enabledBy: 'logging',
  when: (c) => c.fluentd,
  description: 'Optional log aggregator between Fluent Bit and Loki (logging.fluentd: true)',
  why: 'For teams that already route logs through fluentd plugins.',
  namespace: 'logging',
  dependsOn: ['loki'],
  helm: {
    repository: 'https://fluent.github.io/helm-charts',
    chart: 'fluentd',
    version: '0.5.3',
    values: () => ({ kind: 'Deployment', replicaCount: 1 }),
  },
  health: () => releaseHealth('fluentd'),
};

export const headlamp: Component = {
  name: 'headlamp',
  enabledBy: 'headlamp',
  description: 'Cluster UI and visualization, signing in with Dex',
  why: 'A Kubernetes SIG UI project, extensible with plugins; Kubeapps is deprecated.',
  namespace: 'headlamp',
  dependsOn: ['cert-manager'],
  helm: {
    repository: 'https://kubernetes-sigs.github.io/headlamp',
    chart: 'headlamp',
    version: '0.35.0',
    values: (c) =>
      c.identity
        ? { config: { oidc: { issuerURL: c.identity.issuer, clientID: 'headlamp', scopes: 'openid,email,groups' } } }
        : {},
  },
  url: (c) => `https://headlamp.${c.domain}`,
  health: () => releaseHealth('headlamp'),
};

export const gpuOperator: Component = {
  name: 'gpu-operator',
  enabledBy: 'gpu',
  description: 'NVIDIA drivers, device plugin and DCGM metrics: GPU scheduling',
  why: "NVIDIA's supported way to make GPUs schedulable (nvidia.com/gpu) with metrics.",
  namespace: 'gpu-operator',
  dependsOn: [],
  helm: {
    repository: 'https://helm.ngc.nvidia.com/nvidia',
    chart: 'gpu-operator',
    version: 'v25.3.2',
    values: (c) => ({ dcgmExporter: { serviceMonitor: { enabled: c.enabled.monitoring } } }),
  },
  health: () => releaseHealth('gpu-operator'),
};

export const vcluster: Component = {
  name: 'vcluster',
  enabledBy: 'vcluster',
  description: 'Chart source for tenants that ask for a virtual cluster',
  why: 'The maintained virtual-cluster project; a tenant gets its own API server inside its namespace.',
  namespace: 'flux-system',
  dependsOn: [],
  helm: { ...VCLUSTER_CHART, values: () => ({}) },
  sourceOnly: true,
  health: () => [],
};

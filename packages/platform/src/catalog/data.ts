// Stateful parts: Kafka (Strimzi, KRaft, node pools, TLS listeners), a streaming-SQL option
// (Flink SQL through the Flink Kubernetes Operator), PostgreSQL (CloudNativePG) and NFS.
import type { KubeObject } from '@plinth/kube';
import { type Component, objects, releaseHealth, storageClass } from './component.ts';

export const strimzi: Component = {
  name: 'strimzi',
  enabledBy: 'kafka',
  description: 'Kafka in KRaft mode: node pools, TLS and SCRAM listeners, KafkaUser, KafkaConnect',
  why: 'The CNCF operator for Kafka on Kubernetes; KRaft-only since 0.46, users and Connect as resources.',
  namespace: 'kafka',
  dependsOn: ['cert-manager', 'csi-driver-nfs'],
  helm: {
    repository: 'oci://quay.io/strimzi-helm',
    chart: 'strimzi-kafka-operator',
    version: '0.47.0',
    values: () => ({ watchAnyNamespace: true }),
  },
  config: (c) =>
    objects(
      {
        apiVersion: 'kafka.strimzi.io/v1beta2',
        kind: 'KafkaNodePool',
        metadata: { name: 'dual', namespace: 'kafka', labels: { 'strimzi.io/cluster': 'plinth' } },
        spec: {
          replicas: c.kafkaReplicas,
          roles: ['controller', 'broker'],
          storage: {
            type: 'jbod',
            volumes: [
              { id: 0, type: 'persistent-claim', size: c.storage.sizes.kafka, deleteClaim: false, ...storageClass(c) },
            ],
          },
        },
      },
      {
        apiVersion: 'kafka.strimzi.io/v1beta2',
        kind: 'Kafka',
        metadata: {
          name: 'plinth',
          namespace: 'kafka',
          annotations: { 'strimzi.io/node-pools': 'enabled', 'strimzi.io/kraft': 'enabled' },
        },
        spec: {
          kafka: {
            listeners: [
              { name: 'tls', port: 9093, type: 'internal', tls: true, authentication: { type: 'tls' } },
              { name: 'scram', port: 9094, type: 'internal', tls: true, authentication: { type: 'scram-sha-512' } },
            ],
            authorization: { type: 'simple' },
            config: {
              'offsets.topic.replication.factor': Math.min(3, c.kafkaReplicas),
              'transaction.state.log.replication.factor': Math.min(3, c.kafkaReplicas),
              'transaction.state.log.min.isr': Math.min(2, c.kafkaReplicas),
              'default.replication.factor': Math.min(3, c.kafkaReplicas),
              'min.insync.replicas': Math.min(2, c.kafkaReplicas),
            },
          },
          entityOperator: { topicOperator: {}, userOperator: {} },
        },
      },
    ),
  health: () => releaseHealth('strimzi'),
};

export const flink: Component = {
  name: 'flink-operator',
  enabledBy: 'streamingSql',
  description: 'Streaming SQL over Kafka: Flink SQL jobs as FlinkDeployments',
  why: 'Apache-licensed (ksqlDB is under the Confluent Community License); the Apache Flink project maintains the operator.',
  namespace: 'flink',
  dependsOn: ['cert-manager', 'strimzi'],
  helm: {
    repository: 'https://archive.apache.org/dist/flink/flink-kubernetes-operator-1.12.0',
    chart: 'flink-kubernetes-operator',
    version: '1.12.0',
    values: () => ({ webhook: { create: true } }),
  },
  health: () => releaseHealth('flink-operator'),
};

export const cloudnativePg: Component = {
  name: 'cloudnative-pg',
  enabledBy: 'postgres',
  description: 'PostgreSQL clusters; Plinth Databases and GraphQL APIs run on them',
  why: 'The CNCF PostgreSQL operator: HA, backups, TLS by default; it leaves grants and RLS to Plinth.',
  namespace: 'cnpg-system',
  dependsOn: ['csi-driver-nfs'],
  helm: {
    repository: 'https://cloudnative-pg.github.io/charts',
    chart: 'cloudnative-pg',
    version: '0.26.0',
    values: () => ({ monitoring: { podMonitorEnabled: false } }),
  },
  config: (c) =>
    objects({
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: { name: 'plinth-pg', namespace: 'cnpg-system' },
      spec: {
        instances: c.postgresInstances,
        storage: { size: c.storage.sizes.postgres, ...storageClass(c) },
        enableSuperuserAccess: true,
        monitoring: { enablePodMonitor: c.enabled.monitoring },
      },
    }),
  health: () => releaseHealth('cloudnative-pg'),
};

export const nfs: Component = {
  name: 'csi-driver-nfs',
  enabledBy: 'nfs',
  description: 'NFS volumes for every stateful part (StorageClass plinth-nfs)',
  why: 'The Kubernetes SIG Storage CSI driver; dynamic subdirectories on one export.',
  namespace: 'kube-system',
  dependsOn: [],
  helm: {
    repository: 'https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts',
    chart: 'csi-driver-nfs',
    version: 'v4.11.0',
    values: () => ({ controller: { replicas: 1 } }),
  },
  config: (c) =>
    c.storage.nfs
      ? [
          {
            apiVersion: 'storage.k8s.io/v1',
            kind: 'StorageClass',
            metadata: { name: 'plinth-nfs' },
            provisioner: 'nfs.csi.k8s.io',
            parameters: { server: c.storage.nfs.server, share: c.storage.nfs.path },
            reclaimPolicy: 'Retain',
            volumeBindingMode: 'Immediate',
            mountOptions: ['nfsvers=4.1'],
          } as KubeObject,
        ]
      : [],
  health: () => releaseHealth('csi-driver-nfs'),
};

// Plinth's own parts, rendered here rather than pulled from a chart repository: the CRDs, the
// platform roles, the operator and the gateway, each with a least-privilege ServiceAccount,
// probes, requests, PodDisruptionBudgets when replicated, NetworkPolicies, and TLS on the
// gateway when cert-manager is on. charts/plinth packages the same objects for Helm users.
import { imageRef, MANAGED_BY, type Placement, placementSpec, plinthKinds } from '@plinth/api';
import { type KubeObject, leaderElectionAccess, restrictedContainer, restrictedPod, rulesOf } from '@plinth/kube';
import { platformAdminBinding, platformRoles } from '@plinth/tenancy';
import type { PlatformConfig } from '../config.ts';
import { ISSUER } from './cert-manager.ts';
import { type Component, objects } from './component.ts';
// The operator's and the gateway's ClusterRole rules, generated from what their code declares.
import { gatewayRules, operatorRules } from './rbac.generated.ts';

export const PLINTH_NAMESPACE = 'plinth-system';
export { PLINTH_VERSION } from '@plinth/api';

const PART_OF = { 'app.kubernetes.io/part-of': 'plinth', ...MANAGED_BY };

const meta = (name: string, namespaced = true, labels: Record<string, string> = {}) => ({
  name,
  ...(namespaced ? { namespace: PLINTH_NAMESPACE } : {}),
  labels: { ...PART_OF, ...labels },
});

function workload(
  name: string,
  replicas: number,
  placement: Placement,
  container: Record<string, unknown>,
  extraVolumes: Record<string, unknown>[] = [],
): Record<string, unknown>[] {
  const selector = { 'app.kubernetes.io/name': name };
  const out: Record<string, unknown>[] = [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name, true, selector),
      spec: {
        replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...PART_OF, ...selector } },
          spec: {
            serviceAccountName: name,
            securityContext: restrictedPod,
            ...placementSpec(placement),
            containers: [{ name, securityContext: restrictedContainer, ...container }],
            volumes: extraVolumes,
            ...(replicas > 1
              ? {
                  topologySpreadConstraints: [
                    {
                      maxSkew: 1,
                      topologyKey: 'kubernetes.io/hostname',
                      whenUnsatisfiable: 'ScheduleAnyway',
                      labelSelector: { matchLabels: selector },
                    },
                  ],
                }
              : {}),
          },
        },
      },
    },
  ];
  if (replicas > 1) {
    out.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(name),
      spec: { minAvailable: 1, selector: { matchLabels: selector } },
    });
  }
  return out;
}

function rbac(name: string, rules: unknown[]): Record<string, unknown>[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name) },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(name, false), rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(name, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: PLINTH_NAMESPACE }],
    },
  ];
}

/** JSON with object keys sorted, as helm's toJson writes it: the chart and `plinth up` agree. */
const sortedJson = (v: unknown): string =>
  JSON.stringify(v, (_, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );

export function plinthManifests(c: PlatformConfig): KubeObject[] {
  const tls = c.enabled.certManager;
  const env = (pairs: Record<string, string>) => Object.entries(pairs).map(([name, value]) => ({ name, value }));
  const podEnv = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  ];
  const gatewayURL = `https://fn.${c.domain}`;
  const list: object[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: PLINTH_NAMESPACE,
        labels: {
          ...PART_OF,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    },
    ...plinthKinds.map((k) => {
      const crd = k.crd() as Record<string, unknown> & { metadata: Record<string, unknown> };
      return { ...crd, metadata: { ...crd.metadata, labels: { ...PART_OF } } };
    }),
    ...(platformRoles() as unknown as Record<string, unknown>[]),
    ...(c.platformAdminGroups.length
      ? [platformAdminBinding(c.platformAdminGroups.map((g) => `${c.identity?.groupsPrefix ?? 'oidc:'}${g}`))]
      : []),
    // The operator.
    ...rbac('plinth-operator', operatorRules),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta('plinth-operator-leader'),
      rules: rulesOf(leaderElectionAccess),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('plinth-operator-leader'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'plinth-operator-leader' },
      subjects: [{ kind: 'ServiceAccount', name: 'plinth-operator', namespace: PLINTH_NAMESPACE }],
    },
    ...workload(
      'plinth-operator',
      c.plinthReplicas,
      c.placement,
      {
        image: imageRef(c.images, 'operator'),
        env: [
          ...podEnv,
          ...env({
            // The operator renders runtime, connector and GraphQL images from the same source.
            PLINTH_IMAGE_REGISTRY: c.images.registry,
            PLINTH_IMAGE_TAG: c.images.tag,
            ...(Object.keys(placementSpec(c.placement)).length
              ? { PLINTH_PLACEMENT: sortedJson({ nodeSelector: {}, tolerations: [], ...c.placement }) }
              : {}),
            PLINTH_POOL_SIZE: String(c.poolSize),
            PLINTH_GATEWAY_URL: gatewayURL,
            // Where pods deliver (Kafka trigger connectors): the Service, with its CA under TLS.
            PLINTH_GATEWAY_INTERNAL_URL: `${tls ? 'https' : 'http'}://plinth-gateway.${PLINTH_NAMESPACE}.svc:443`,
            ...(tls ? { PLINTH_GATEWAY_CA_FILE: '/etc/plinth/gateway-ca/ca.crt' } : {}),
            PLINTH_GATEWAY_STATS_URLS: `http://plinth-gateway-admin.${PLINTH_NAMESPACE}.svc:9090`,
            PLINTH_GROUPS_PREFIX: c.identity?.groupsPrefix ?? 'oidc:',
            PLINTH_NAMESPACE,
          }),
        ],
        ports: [{ name: 'health', containerPort: 8081 }],
        livenessProbe: { httpGet: { path: '/healthz', port: 'health' }, periodSeconds: 10 },
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        ...(tls ? { volumeMounts: [{ name: 'gateway-ca', mountPath: '/etc/plinth/gateway-ca', readOnly: true }] } : {}),
      },
      tls
        ? // The gateway certificate's CA only: the operator never sees the gateway's key.
          [
            {
              name: 'gateway-ca',
              secret: { secretName: 'plinth-gateway-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
            },
          ]
        : [],
    ),
    // The gateway.
    ...rbac('plinth-gateway', gatewayRules),
    ...workload(
      'plinth-gateway',
      c.plinthReplicas,
      c.placement,
      {
        image: imageRef(c.images, 'gateway'),
        env: [
          ...podEnv,
          ...env({ PORT: '8443', PLINTH_ADMIN_PORT: '9090' }),
          ...(tls
            ? env({ PLINTH_TLS_CERT_FILE: '/etc/plinth/tls/tls.crt', PLINTH_TLS_KEY_FILE: '/etc/plinth/tls/tls.key' })
            : []),
        ],
        ports: [
          { name: 'https', containerPort: 8443 },
          { name: 'admin', containerPort: 9090 },
        ],
        readinessProbe: {
          httpGet: { path: '/_/ready', port: 'https', scheme: tls ? 'HTTPS' : 'HTTP' },
          periodSeconds: 5,
        },
        livenessProbe: {
          httpGet: { path: '/_/health', port: 'https', scheme: tls ? 'HTTPS' : 'HTTP' },
          periodSeconds: 10,
        },
        resources: { requests: { cpu: '200m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        ...(tls ? { volumeMounts: [{ name: 'tls', mountPath: '/etc/plinth/tls', readOnly: true }] } : {}),
      },
      tls ? [{ name: 'tls', secret: { secretName: 'plinth-gateway-tls' } }] : [],
    ),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('plinth-gateway'),
      spec: {
        selector: { 'app.kubernetes.io/name': 'plinth-gateway' },
        ports: [{ name: 'https', port: 443, targetPort: 'https' }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('plinth-gateway-admin'),
      spec: {
        selector: { 'app.kubernetes.io/name': 'plinth-gateway' },
        ports: [{ name: 'admin', port: 9090, targetPort: 'admin' }],
      },
    },
    // Network: nothing reaches Plinth's pods but the gateway's public port, and the admin port
    // from the operator (autoscaler stats) and monitoring.
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('plinth-default-deny'),
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('plinth-gateway'),
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'plinth-gateway' } },
        policyTypes: ['Ingress'],
        ingress: [
          { ports: [{ port: 8443 }] },
          {
            from: [
              { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'plinth-operator' } } },
              { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
            ],
            ports: [{ port: 9090 }],
          },
        ],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta('plinth-operator'),
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'plinth-operator' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
            ports: [{ port: 8081 }],
          },
        ],
      },
    },
  ];
  return objects(...list);
}

export const plinth: Component = {
  name: 'plinth',
  enabledBy: 'plinth',
  description: 'Plinth: CRDs, platform roles, operator, function gateway',
  why: 'This project.',
  namespace: PLINTH_NAMESPACE,
  dependsOn: ['cert-manager'],
  manifests: plinthManifests,
  config: (c) =>
    c.enabled.certManager
      ? objects({
          apiVersion: 'cert-manager.io/v1',
          kind: 'Certificate',
          metadata: meta('plinth-gateway-tls'),
          spec: {
            secretName: 'plinth-gateway-tls',
            dnsNames: [`fn.${c.domain}`, `plinth-gateway.${PLINTH_NAMESPACE}.svc`],
            issuerRef: { name: ISSUER, kind: 'ClusterIssuer', group: 'cert-manager.io' },
          },
        })
      : [],
  health: () => [
    { kind: 'Deployment', namespace: PLINTH_NAMESPACE, name: 'plinth-operator' },
    { kind: 'Deployment', namespace: PLINTH_NAMESPACE, name: 'plinth-gateway' },
  ],
  url: (c) => `https://fn.${c.domain}`,
};

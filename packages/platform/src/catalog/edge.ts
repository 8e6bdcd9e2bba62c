// The edge: Envoy Gateway implements the Gateway API (ingress-nginx was retired in 2026), with
// one wildcard HTTPS listener for *.<domain>; Istio ambient gives every pod mTLS without
// sidecars.
import { ISSUER } from './cert-manager.ts';
import { type Component, objects, releaseHealth } from './component.ts';

export const gateway: Component = {
  name: 'envoy-gateway',
  enabledBy: 'gateway',
  description: 'Gateway API edge: HTTPS for *.<domain>, routes to Plinth and every UI',
  why: 'A conformant Gateway API implementation from the Envoy project, with rate limits and IP allow/deny lists (SecurityPolicy) built in.',
  namespace: 'envoy-gateway-system',
  dependsOn: ['cert-manager'],
  helm: {
    repository: 'oci://docker.io/envoyproxy',
    chart: 'gateway-helm',
    version: 'v1.5.0',
    values: (c) => ({ deployment: { replicas: c.replicas > 1 ? 2 : 1 } }),
  },
  config: (c) =>
    objects(
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'GatewayClass',
        metadata: { name: 'plinth' },
        spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' },
      },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: {
          name: 'plinth',
          namespace: 'envoy-gateway-system',
          annotations: { 'cert-manager.io/cluster-issuer': ISSUER },
        },
        spec: {
          gatewayClassName: 'plinth',
          listeners: [
            {
              name: 'https',
              protocol: 'HTTPS',
              port: 443,
              hostname: `*.${c.domain}`,
              tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'plinth-wildcard-tls' }] },
              allowedRoutes: { namespaces: { from: 'All' } },
            },
          ],
        },
      },
    ),
  health: () => releaseHealth('envoy-gateway'),
};

const istio = (chart: string, values: Record<string, unknown> = {}) => ({
  repository: 'https://istio-release.storage.googleapis.com/charts',
  chart,
  version: '1.27.0',
  values: () => values,
});

export const istioBase: Component = {
  name: 'istio-base',
  enabledBy: 'mesh',
  description: 'Istio CRDs (ambient mode)',
  why: 'Ambient mode gives mTLS between all pods without sidecars, so functions keep their cold-start times.',
  namespace: 'istio-system',
  dependsOn: [],
  helm: istio('base'),
  health: () => releaseHealth('istio-base'),
};
export const istiod: Component = {
  name: 'istiod',
  enabledBy: 'mesh',
  description: 'Istio control plane, ambient profile',
  why: 'See istio-base.',
  namespace: 'istio-system',
  dependsOn: ['istio-base'],
  helm: istio('istiod', { profile: 'ambient' }),
  health: () => releaseHealth('istiod'),
};
export const istioCni: Component = {
  name: 'istio-cni',
  enabledBy: 'mesh',
  description: 'Istio CNI node agent (ambient traffic redirection)',
  why: 'See istio-base.',
  namespace: 'istio-system',
  dependsOn: ['istiod'],
  helm: istio('cni', { profile: 'ambient' }),
  health: () => releaseHealth('istio-cni'),
};
export const ztunnel: Component = {
  name: 'ztunnel',
  enabledBy: 'mesh',
  description: 'Istio ztunnel: per-node mTLS proxy',
  why: 'See istio-base.',
  namespace: 'istio-system',
  dependsOn: ['istio-cni'],
  helm: istio('ztunnel'),
  health: () => releaseHealth('ztunnel'),
};

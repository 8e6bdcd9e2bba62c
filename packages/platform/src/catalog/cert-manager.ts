// cert-manager issues every certificate; trust-manager distributes the platform CA bundle.
// Dev: a self-signed root and a CA issuer. Prod: ACME with a DNS-01 solver (wildcards).
import type { KubeObject } from '@plinth/kube';
import type { PlatformConfig } from '../config.ts';
import { type Component, objects, releaseHealth } from './component.ts';

export const ISSUER = 'plinth';

function issuers(c: PlatformConfig): KubeObject[] {
  if (c.tls.issuer === 'acme' && c.tls.acme) {
    const { email, server, dns01 } = c.tls.acme;
    const solver = {
      cloudflare: { cloudflare: { apiTokenSecretRef: { name: dns01.secretName, key: 'api-token' } } },
      route53: {
        route53: {
          region: 'us-east-1',
          accessKeyIDSecretRef: { name: dns01.secretName, key: 'access-key-id' },
          secretAccessKeySecretRef: { name: dns01.secretName, key: 'secret-access-key' },
        },
      },
      rfc2136: {
        rfc2136: {
          nameserver: 'ns.example.com:53',
          tsigKeyName: 'plinth',
          tsigAlgorithm: 'HMACSHA256',
          tsigSecretSecretRef: { name: dns01.secretName, key: 'tsig-secret' },
        },
      },
    }[dns01.provider];
    return [
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'ClusterIssuer',
        metadata: { name: ISSUER },
        spec: {
          acme: { email, server, privateKeySecretRef: { name: 'plinth-acme-account' }, solvers: [{ dns01: solver }] },
        },
      } as KubeObject,
    ];
  }
  return objects(
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: 'plinth-selfsigned' },
      spec: { selfSigned: {} },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'plinth-root-ca', namespace: 'cert-manager' },
      spec: {
        isCA: true,
        commonName: `Plinth CA (${c.domain})`,
        secretName: 'plinth-root-ca',
        privateKey: { algorithm: 'ECDSA', size: 256 },
        duration: '87600h',
        issuerRef: { name: 'plinth-selfsigned', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: ISSUER },
      spec: { ca: { secretName: 'plinth-root-ca' } },
    },
  );
}

export const certManager: Component = {
  name: 'cert-manager',
  enabledBy: 'certManager',
  description: 'Certificates for subdomains (ACME DNS-01 wildcards) and in-cluster TLS',
  why: 'The CNCF standard for certificates on Kubernetes; the Gateway API integration issues listener certificates.',
  namespace: 'cert-manager',
  dependsOn: [],
  helm: {
    repository: 'https://charts.jetstack.io',
    chart: 'cert-manager',
    version: 'v1.18.2',
    values: (c) => ({
      crds: { enabled: true, keep: true },
      replicaCount: c.replicas > 1 ? 2 : 1,
      config: {
        apiVersion: 'controller.config.cert-manager.io/v1alpha1',
        kind: 'ControllerConfiguration',
        enableGatewayAPI: true,
      },
      prometheus: { enabled: true, servicemonitor: { enabled: c.enabled.monitoring } },
    }),
  },
  config: issuers,
  health: () => releaseHealth('cert-manager'),
};

export const trustManager: Component = {
  name: 'trust-manager',
  enabledBy: 'certManager',
  description: 'Distributes the platform CA bundle to every namespace',
  why: "cert-manager's own companion for trust bundles; replaces copying CA Secrets by hand.",
  namespace: 'cert-manager',
  dependsOn: ['cert-manager'],
  helm: {
    repository: 'https://charts.jetstack.io',
    chart: 'trust-manager',
    version: 'v0.18.0',
    values: () => ({ secretTargets: { enabled: false }, app: { trust: { namespace: 'cert-manager' } } }),
  },
  config: () => [
    {
      apiVersion: 'trust.cert-manager.io/v1alpha1',
      kind: 'Bundle',
      metadata: { name: 'plinth-ca' },
      spec: {
        sources: [{ useDefaultCAs: true }, { secret: { name: 'plinth-root-ca', key: 'ca.crt' } }],
        target: { configMap: { key: 'ca-bundle.crt' } },
      },
    } as KubeObject,
  ],
  health: () => releaseHealth('trust-manager'),
};

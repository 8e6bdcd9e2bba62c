// The operator's configuration: read once at start-up, validated, with documented defaults.
import type { Runtime } from '@plinth/api';

export interface OperatorConfig {
  /** Runtime images that serve the contract; node/python load code, go/java run a build output. */
  runtimeImages: Record<Runtime, string>;
  /** Builder images that compile go/java source into /var/plinth/function (init container). */
  builderImages: { go: string; java: string };
  /** Image for the init container that fetches source archives (needs sh, wget, sha256sum, tar, unzip). */
  fetchImage: string;
  /** Image of the Kafka trigger connector (apps/connector). */
  connectorImage: string;
  /** Image of the GraphQL API server (apps/graphql). */
  graphqlImage: string;
  /** Public base URL of the function gateway, for status.url. */
  gatewayURL: string;
  /** Gateways whose `/_/stats` the autoscaler sums (PLINTH_GATEWAY_STATS_URLS, comma-separated). */
  gatewayStatsURLs: string[];
  /** Prefix the API server gives directory groups (its OIDC groups prefix). */
  groupsPrefix: string;
  /**
   * Namespace of the platform's own parts (gateway, metrics): allowed into tenant namespaces.
   * Database servers the platform offers (serverRef) are Secrets here.
   */
  platformNamespace: string;
  /**
   * PostgreSQL roles outside a Database that its roles may join (PLINTH_PG_GRANTABLE_ROLES,
   * comma-separated; default none). Superusers and privileged or predefined roles are refused
   * even when listed.
   */
  grantableRoles: string[];
  fieldManager: string;
}

const VERSION = '0.1.0';

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const registry = env.PLINTH_IMAGE_REGISTRY ?? 'ghcr.io/plinth-dev';
  const gatewayURL = env.PLINTH_GATEWAY_URL ?? 'http://plinth-gateway.plinth-system.svc';
  if (!/^https?:\/\/[^/]+/.test(gatewayURL)) {
    throw new Error(`PLINTH_GATEWAY_URL must be an http(s) URL, got "${gatewayURL}"`);
  }
  return {
    runtimeImages: {
      node: env.PLINTH_IMAGE_NODE ?? `${registry}/runtime-node:${VERSION}`,
      python: env.PLINTH_IMAGE_PYTHON ?? `${registry}/runtime-python:${VERSION}`,
      go: env.PLINTH_IMAGE_GO ?? `${registry}/runtime-go:${VERSION}`,
      java: env.PLINTH_IMAGE_JAVA ?? `${registry}/runtime-java:${VERSION}`,
    },
    builderImages: {
      go: env.PLINTH_IMAGE_BUILDER_GO ?? `${registry}/builder-go:${VERSION}`,
      java: env.PLINTH_IMAGE_BUILDER_JAVA ?? `${registry}/builder-java:${VERSION}`,
    },
    fetchImage: env.PLINTH_IMAGE_FETCH ?? `${registry}/fetch:${VERSION}`,
    connectorImage: env.PLINTH_IMAGE_CONNECTOR ?? `${registry}/connector:${VERSION}`,
    graphqlImage: env.PLINTH_IMAGE_GRAPHQL ?? `${registry}/graphql:${VERSION}`,
    gatewayURL: gatewayURL.replace(/\/$/, ''),
    gatewayStatsURLs: (env.PLINTH_GATEWAY_STATS_URLS ?? gatewayURL)
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    groupsPrefix: env.PLINTH_GROUPS_PREFIX ?? 'oidc:',
    platformNamespace: env.PLINTH_NAMESPACE ?? 'plinth-system',
    grantableRoles: (env.PLINTH_PG_GRANTABLE_ROLES ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
    fieldManager: 'plinth-operator',
  };
}

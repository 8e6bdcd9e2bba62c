// The operator's configuration: read once at start-up, validated, with documented defaults.
import { DEFAULT_IMAGES, imageRef, type Placement, parsePlacement, type Runtime } from '@plinth/api';

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
  /** Node selector and tolerations of every pod the operator renders (PLINTH_PLACEMENT, JSON). */
  placement: Placement;
  fieldManager: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const images = {
    registry: env.PLINTH_IMAGE_REGISTRY ?? DEFAULT_IMAGES.registry,
    tag: env.PLINTH_IMAGE_TAG ?? DEFAULT_IMAGES.tag,
  };
  const image = (name: string) => imageRef(images, name);
  const gatewayURL = env.PLINTH_GATEWAY_URL ?? 'http://plinth-gateway.plinth-system.svc';
  if (!/^https?:\/\/[^/]+/.test(gatewayURL)) {
    throw new Error(`PLINTH_GATEWAY_URL must be an http(s) URL, got "${gatewayURL}"`);
  }
  return {
    runtimeImages: {
      node: env.PLINTH_IMAGE_NODE ?? image('runtime-node'),
      python: env.PLINTH_IMAGE_PYTHON ?? image('runtime-python'),
      go: env.PLINTH_IMAGE_GO ?? image('runtime-go'),
      java: env.PLINTH_IMAGE_JAVA ?? image('runtime-java'),
    },
    builderImages: {
      go: env.PLINTH_IMAGE_BUILDER_GO ?? image('builder-go'),
      java: env.PLINTH_IMAGE_BUILDER_JAVA ?? image('builder-java'),
    },
    fetchImage: env.PLINTH_IMAGE_FETCH ?? image('fetch'),
    connectorImage: env.PLINTH_IMAGE_CONNECTOR ?? image('connector'),
    graphqlImage: env.PLINTH_IMAGE_GRAPHQL ?? image('graphql'),
    gatewayURL: gatewayURL.replace(/\/$/, ''),
    gatewayStatsURLs: (env.PLINTH_GATEWAY_STATS_URLS ?? gatewayURL)
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    groupsPrefix: env.PLINTH_GROUPS_PREFIX ?? 'oidc:',
    platformNamespace: env.PLINTH_NAMESPACE ?? 'plinth-system',
    placement: parsePlacement(env.PLINTH_PLACEMENT),
    grantableRoles: (env.PLINTH_PG_GRANTABLE_ROLES ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
    fieldManager: 'plinth-operator',
  };
}

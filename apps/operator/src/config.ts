// The operator's configuration: read once at start-up, validated, with documented defaults.
import { readFileSync } from 'node:fs';
import { DEFAULT_IMAGES, DEFAULT_POOL_SIZE, imageRef, type Placement, parsePlacement, type Runtime } from '@plinth/api';
import { databaseSettingsFromEnv } from '@plinth/pg-access';

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
  /**
   * The gateway's in-cluster base URL, which pods (Kafka trigger connectors) deliver through
   * (PLINTH_GATEWAY_INTERNAL_URL; default http://plinth-gateway.<namespace>.svc:443).
   */
  gatewayInternalURL: string;
  /** PEM of the CA that signs the gateway's certificate, for https internal URLs (PLINTH_GATEWAY_CA_FILE). */
  gatewayCA?: string;
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
  /**
   * Warm pool pods per namespace and pool runtime (PLINTH_POOL_SIZE, default DEFAULT_POOL_SIZE;
   * 0 turns the pool off): they serve a poolable Function's first requests from zero.
   */
  poolSize: number;
  /**
   * Every object is reconciled again this often even when nothing changed
   * (PLINTH_RESYNC_SECONDS, default 600), so drift outside Kubernetes is repaired.
   */
  resyncSeconds: number;
  /**
   * Reconciles run at once per kind whose work is mostly waiting on the API server (Functions,
   * KafkaTriggers, GraphQLApis; PLINTH_RECONCILE_WORKERS, default 8). Databases and Tenants run
   * one at a time.
   */
  reconcileWorkers: number;
  /** The gateway's ServiceAccount, which the pool's namespace Role is bound to. */
  gatewayServiceAccount: string;
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
  const { platformNamespace, grantableRoles } = databaseSettingsFromEnv(env);
  const gatewayURL = env.PLINTH_GATEWAY_URL ?? `http://plinth-gateway.${platformNamespace}.svc`;
  const gatewayInternalURL = env.PLINTH_GATEWAY_INTERNAL_URL ?? `http://plinth-gateway.${platformNamespace}.svc:443`;
  for (const [key, url] of [
    ['PLINTH_GATEWAY_URL', gatewayURL],
    ['PLINTH_GATEWAY_INTERNAL_URL', gatewayInternalURL],
  ]) {
    if (!/^https?:\/\/[^/]+/.test(url ?? '')) throw new Error(`${key} must be an http(s) URL, got "${url}"`);
  }
  const caFile = env.PLINTH_GATEWAY_CA_FILE;
  let gatewayCA: string | undefined;
  if (caFile) {
    try {
      gatewayCA = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new Error(`PLINTH_GATEWAY_CA_FILE: cannot read ${caFile}: ${(e as Error).message}`);
    }
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
    gatewayInternalURL: gatewayInternalURL.replace(/\/$/, ''),
    ...(gatewayCA ? { gatewayCA } : {}),
    gatewayStatsURLs: (env.PLINTH_GATEWAY_STATS_URLS ?? gatewayURL)
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    groupsPrefix: env.PLINTH_GROUPS_PREFIX ?? 'oidc:',
    platformNamespace,
    placement: parsePlacement(env.PLINTH_PLACEMENT),
    poolSize: wholeNumber('PLINTH_POOL_SIZE', env.PLINTH_POOL_SIZE, DEFAULT_POOL_SIZE, 0, 20),
    resyncSeconds: wholeNumber('PLINTH_RESYNC_SECONDS', env.PLINTH_RESYNC_SECONDS, 600, 1, 86_400),
    reconcileWorkers: wholeNumber('PLINTH_RECONCILE_WORKERS', env.PLINTH_RECONCILE_WORKERS, 8, 1, 64),
    gatewayServiceAccount: env.PLINTH_GATEWAY_SERVICE_ACCOUNT ?? 'plinth-gateway',
    grantableRoles,
    fieldManager: 'plinth-operator',
  };
}

function wholeNumber(key: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${key} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

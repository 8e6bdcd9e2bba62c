// PlatformConfig: everything `plinth render / up` needs, in one typed document. A YAML file
// and a TypeScript file (default export) are validated by the same schema; every field is
// documented with its default. A profile (dev or prod) supplies defaults the file does not
// set; prod also insists on what a production install cannot do without (a domain, ACME).
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_IMAGES, DEFAULT_POOL_SIZE, type ImageSource, type Placement, PlacementSchema } from '@plinth/api';
import { IdentityConfigSchema } from '@plinth/tenancy';
import { type Static, type TProperties, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';

const Size = (description: string) =>
  Type.Optional(Type.String({ pattern: '^[0-9]+(Mi|Gi|Ti)$', description: `${description} (e.g. 20Gi).` }));
const Toggle = <E extends TProperties>(description: string, extra: E = {} as E) =>
  Type.Optional(
    Type.Object(
      { enabled: Type.Optional(Type.Boolean({ description: 'Install it. Default: per profile.' })), ...extra },
      { additionalProperties: false, description },
    ),
  );
const Replicas = Type.Optional(Type.Integer({ minimum: 1, maximum: 9, description: 'Default: 1 (dev), 3 (prod).' }));

export const PlatformConfigSchema = Type.Object(
  {
    profile: Type.Union([Type.Literal('dev'), Type.Literal('prod')], {
      default: 'dev',
      description: 'dev: one replica of everything, a self-signed CA, small volumes. prod: HA, ACME, bigger volumes.',
    }),
    domain: Type.Optional(
      Type.String({
        pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,63}$',
        description: 'Base domain; components get <name>.<domain>. Required for prod; dev default: plinth.localhost.',
      }),
    ),
    placement: Type.Optional(PlacementSchema),
    images: Type.Optional(
      Type.Object(
        {
          registry: Type.Optional(
            Type.String({
              pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$',
              maxLength: 255,
              description: `Registry (and path) Plinth's images are pulled from: operator, gateway, connector, graphql, runtimes. Default: ${DEFAULT_IMAGES.registry}. Build and push your own with npm run images -- --push.`,
            }),
          ),
          tag: Type.Optional(
            Type.String({
              pattern: '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$',
              description: `Tag of Plinth's images. Default: ${DEFAULT_IMAGES.tag}.`,
            }),
          ),
        },
        { additionalProperties: false, description: "Where Plinth's own images come from." },
      ),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          issuer: Type.Optional(
            Type.Union([Type.Literal('selfSigned'), Type.Literal('acme')], {
              description:
                'selfSigned: a platform CA (trust-manager distributes it). acme: DNS-01 wildcard certificates. Default: selfSigned (dev), acme (prod).',
            }),
          ),
          acme: Type.Optional(
            Type.Object(
              {
                email: Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$', description: 'ACME account email.' }),
                server: Type.String({
                  default: 'https://acme-v02.api.letsencrypt.org/directory',
                  description: 'ACME directory URL.',
                }),
                dns01: Type.Object(
                  {
                    provider: Type.Union(
                      [Type.Literal('cloudflare'), Type.Literal('route53'), Type.Literal('rfc2136')],
                      { description: 'DNS-01 solver.' },
                    ),
                    secretName: Type.String({ description: 'Secret in cert-manager with the provider credentials.' }),
                  },
                  { additionalProperties: false },
                ),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    identity: Type.Optional(IdentityConfigSchema),
    platformAdminGroups: Type.Array(Type.String(), {
      default: [],
      description: 'Directory groups bound to plinth:platform-admin cluster-wide.',
    }),
    storage: Type.Optional(
      Type.Object(
        {
          nfs: Type.Optional(
            Type.Object(
              {
                server: Type.String({ description: 'NFS server host.' }),
                path: Type.String({ pattern: '^/', description: 'Exported path.' }),
              },
              { additionalProperties: false, description: 'Use csi-driver-nfs with this export as the default class.' },
            ),
          ),
          storageClass: Type.Optional(
            Type.String({
              description:
                'An existing CSI StorageClass to use instead of NFS. Default: plinth-nfs or the cluster default.',
            }),
          ),
          kafka: Size('Per Kafka broker; default 10Gi (dev), 100Gi (prod)'),
          postgres: Size('Per PostgreSQL instance; default 5Gi (dev), 50Gi (prod)'),
          prometheus: Size('Metrics; default 10Gi (dev), 50Gi (prod)'),
          loki: Size('Logs; default 10Gi (dev), 100Gi (prod)'),
          registry: Size('OCI registry; default 10Gi (dev), 100Gi (prod)'),
        },
        { additionalProperties: false },
      ),
    ),
    components: Type.Optional(
      Type.Object(
        {
          certManager: Toggle('cert-manager and trust-manager.'),
          gateway: Toggle('Envoy Gateway, the Gateway API edge.'),
          mesh: Toggle('Istio ambient: mTLS between every pod. Default: off (dev), on (prod).'),
          kafka: Toggle('Strimzi with a KRaft Kafka cluster.', { replicas: Replicas }),
          streamingSql: Toggle('Apache Flink Kubernetes Operator (Flink SQL). Default: off.'),
          postgres: Toggle('CloudNativePG with a platform cluster.', { instances: Replicas }),
          nfs: Toggle('csi-driver-nfs. Default: on when storage.nfs is set.'),
          registry: Toggle('Zot: OCI images and Helm charts.'),
          dex: Toggle('Dex, the OIDC issuer for the directory. Default: on when identity is set.'),
          monitoring: Toggle('kube-prometheus-stack with Grafana.'),
          logging: Toggle('Loki and Fluent Bit.', {
            fluentd: Type.Optional(Type.Boolean({ description: 'Add a fluentd aggregator. Default: false.' })),
          }),
          headlamp: Toggle('Headlamp, the cluster UI.'),
          gpu: Toggle('NVIDIA GPU Operator. Default: off.'),
          vcluster: Toggle('vcluster for tenants that want a virtual cluster. Default: off (dev), on (prod).'),
          gitops: Toggle('Flux: owns the install order of everything above.'),
          plinth: Toggle("Plinth's own chart: CRDs, operator, gateway.", {
            replicas: Replicas,
            poolSize: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: 20,
                description: `Warm pool pods per namespace and runtime (node, python) that wake functions from zero; 0 turns the pool off. Default: ${DEFAULT_POOL_SIZE}.`,
              }),
            ),
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type PlatformConfigInput = Static<typeof PlatformConfigSchema>;

const COMPONENTS = [
  'certManager',
  'gateway',
  'mesh',
  'kafka',
  'streamingSql',
  'postgres',
  'nfs',
  'registry',
  'dex',
  'monitoring',
  'logging',
  'headlamp',
  'gpu',
  'vcluster',
  'gitops',
  'plinth',
] as const;
export type ComponentKey = (typeof COMPONENTS)[number];

/** The config with every default filled in: what the catalog renders from. */
export interface PlatformConfig {
  profile: 'dev' | 'prod';
  domain: string;
  images: ImageSource;
  placement: Placement;
  tls: { issuer: 'selfSigned' | 'acme'; acme?: NonNullable<NonNullable<PlatformConfigInput['tls']>['acme']> };
  identity?: NonNullable<PlatformConfigInput['identity']>;
  platformAdminGroups: string[];
  storage: {
    nfs?: { server: string; path: string };
    storageClass?: string;
    sizes: Record<'kafka' | 'postgres' | 'prometheus' | 'loki' | 'registry', string>;
  };
  replicas: number;
  enabled: Record<ComponentKey, boolean>;
  kafkaReplicas: number;
  postgresInstances: number;
  plinthReplicas: number;
  /** Warm pool pods per namespace and pool runtime. */
  poolSize: number;
  fluentd: boolean;
}

/** A config that cannot be installed, with every problem named by its field. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source}: invalid platform config:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const path = (p: string) => p.replace(/^\//, '').replace(/\//g, '.') || '(root)';

/** Validates a config document and fills in its profile's defaults (pure). */
export function resolveConfig(input: unknown, source = 'config'): PlatformConfig {
  const doc = Value.Default(PlatformConfigSchema, structuredClone(input ?? {}));
  const problems = [...Value.Errors(PlatformConfigSchema, doc)].map((e) =>
    e.message === 'Unexpected property'
      ? `${path(e.path)}: unknown field`
      : `${path(e.path)}: ${e.message}${e.value !== undefined && typeof e.value !== 'object' ? ` (got ${JSON.stringify(e.value)})` : ''}`,
  );
  if (problems.length) throw new ConfigError(source, [...new Set(problems)]);
  const c = doc as PlatformConfigInput;
  const prod = c.profile === 'prod';
  const issuer = c.tls?.issuer ?? (prod ? 'acme' : 'selfSigned');
  if (prod && !c.domain) problems.push('domain: required for the prod profile (the base domain, e.g. example.com)');
  if (issuer === 'acme' && !c.tls?.acme) {
    problems.push('tls.acme: required when tls.issuer is acme (the prod default): email and dns01 solver');
  }
  if (c.components?.dex?.enabled && !c.identity) problems.push('identity: required when components.dex is enabled');
  if (c.components?.nfs?.enabled && !c.storage?.nfs)
    problems.push('storage.nfs: required when components.nfs is enabled');
  if (problems.length) throw new ConfigError(source, problems);

  const on = (k: ComponentKey, dflt: boolean) => c.components?.[k]?.enabled ?? dflt;
  const defaults: Record<ComponentKey, boolean> = {
    certManager: true,
    gateway: true,
    mesh: prod,
    kafka: true,
    streamingSql: false,
    postgres: true,
    nfs: !!c.storage?.nfs,
    registry: true,
    dex: !!c.identity,
    monitoring: true,
    logging: true,
    headlamp: true,
    gpu: false,
    vcluster: prod,
    gitops: true,
    plinth: true,
  };
  const size = (k: keyof PlatformConfig['storage']['sizes'], dev: string, big: string) =>
    c.storage?.[k] ?? (prod ? big : dev);
  const replicas = prod ? 3 : 1;
  return {
    profile: c.profile,
    domain: c.domain ?? 'plinth.localhost',
    images: { registry: c.images?.registry ?? DEFAULT_IMAGES.registry, tag: c.images?.tag ?? DEFAULT_IMAGES.tag },
    placement: c.placement ?? {},
    tls: { issuer, ...(c.tls?.acme ? { acme: c.tls.acme } : {}) },
    ...(c.identity ? { identity: c.identity } : {}),
    platformAdminGroups: c.platformAdminGroups,
    storage: {
      ...(c.storage?.nfs ? { nfs: c.storage.nfs } : {}),
      ...(c.storage?.storageClass ? { storageClass: c.storage.storageClass } : {}),
      sizes: {
        kafka: size('kafka', '10Gi', '100Gi'),
        postgres: size('postgres', '5Gi', '50Gi'),
        prometheus: size('prometheus', '10Gi', '50Gi'),
        loki: size('loki', '10Gi', '100Gi'),
        registry: size('registry', '10Gi', '100Gi'),
      },
    },
    replicas,
    enabled: Object.fromEntries(COMPONENTS.map((k) => [k, on(k, defaults[k])])) as Record<ComponentKey, boolean>,
    kafkaReplicas: c.components?.kafka?.replicas ?? replicas,
    postgresInstances: c.components?.postgres?.instances ?? replicas,
    plinthReplicas: c.components?.plinth?.replicas ?? (prod ? 2 : 1),
    poolSize: c.components?.plinth?.poolSize ?? DEFAULT_POOL_SIZE,
    fluentd: c.components?.logging?.fluentd ?? false,
  };
}

/** Reads a YAML (.yaml/.yml/.json) or TypeScript (.ts, default export) config and resolves it. */
export async function loadConfig(file: string): Promise<PlatformConfig> {
  const ext = extname(file);
  let doc: unknown;
  if (ext === '.ts' || ext === '.js' || ext === '.mjs') {
    doc = ((await import(pathToFileURL(resolve(file)).href)) as { default?: unknown }).default;
    if (doc === undefined) throw new ConfigError(file, ['(root): the module has no default export']);
  } else {
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(file, [`(root): not valid YAML: ${(e as Error).message.split('\n')[0]}`]);
    }
  }
  return resolveConfig(doc, file);
}

/** For TypeScript config files: `export default definePlatform({...})` type-checks the document. */
export const definePlatform = (c: PlatformConfigInput): PlatformConfigInput => c;

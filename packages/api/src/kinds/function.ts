// Function: a Kubernetes-native serverless function. The spec's template fields (code,
// image, env, resources, timeout) define an immutable revision; scaling, exposure and the
// traffic split can change without one.
import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import {
  ConditionsSchema,
  defineKind,
  HeldRouteSchema,
  HttpRouteSchema,
  ImageReference,
  type NameRule,
  type ObjectOf,
  StringEnum,
} from '../schema.ts';

export const Runtimes = ['node', 'python', 'go', 'java'] as const;
export type Runtime = (typeof Runtimes)[number];

/** Default handler per runtime: `<file or module>.<export>` (Go and Java: the package/class). */
export const DefaultHandlers: Record<Runtime, string> = {
  node: 'handler.default',
  python: 'handler.handle',
  go: 'Handle',
  java: 'Handler',
};

/**
 * The file an inline source (spec.source.inline) is written to, per runtime: the module its
 * default handler names. The operator's source ConfigMap and `plinth dev` both use it.
 */
export const InlineSourceFiles: Record<Runtime, string> = {
  node: 'handler.mjs',
  python: 'handler.py',
  go: 'handler.go',
  java: 'Handler.java',
};

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/**
 * A Function's name: each revision is a Service `<name>-00001` (a DNS-1035 label of at most 63
 * characters), so the name is a DNS-1035 label short enough to leave room for revision numbers
 * well past 00001 (and for `<name>-00001-source`).
 */
export const FunctionNameRule: NameRule = {
  maxLength: 50,
  dns1035: true,
  because:
    'the operator names each revision Service <name>-00001 after it, and a Service name is a DNS-1035 label of at most 63 characters',
};
const ENV_NAME = '^[-._a-zA-Z][-._a-zA-Z0-9]*$';

const KeyRef = Type.Object({
  name: Type.String({ pattern: DNS_LABEL, maxLength: 253 }),
  key: Type.String({ minLength: 1, maxLength: 253 }),
  optional: Type.Optional(Type.Boolean()),
});

const EnvVar = Type.Object({
  name: Type.String({ pattern: ENV_NAME, maxLength: 256, description: 'Environment variable name.' }),
  value: Type.Optional(Type.String({ maxLength: 32768 })),
  valueFrom: Type.Optional(
    Type.Object({
      secretKeyRef: Type.Optional(KeyRef),
      configMapKeyRef: Type.Optional(KeyRef),
    }),
  ),
});

const Source = Type.Object(
  {
    inline: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 262144,
        description: 'The handler file itself (one file, up to 256 KiB).',
      }),
    ),
    configMap: Type.Optional(
      Type.Object(
        { name: Type.String({ pattern: DNS_LABEL, maxLength: 253 }) },
        { description: 'A ConfigMap in the same namespace whose keys are the function files.' },
      ),
    ),
    archive: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^(https|oci)://', maxLength: 2048 }),
          sha256: Type.Optional(Type.String({ pattern: '^[a-f0-9]{64}$' })),
        },
        { description: 'A .tar.gz or .zip of the function directory, fetched over HTTPS or from an OCI registry.' },
      ),
    ),
  },
  { description: 'Exactly one of inline, configMap or archive.' },
);

const TrafficTarget = Type.Object({
  revision: Type.Optional(Type.String({ pattern: DNS_LABEL, maxLength: 63, description: 'A revision by name.' })),
  latestRevision: Type.Optional(Type.Boolean({ description: 'Follow the newest ready revision.' })),
  percent: Type.Integer({ minimum: 0, maximum: 100 }),
  tag: Type.Optional(
    Type.String({
      pattern: DNS_LABEL,
      maxLength: 63,
      description: 'Also reachable at <path>/@<tag>, whatever its percent.',
    }),
  ),
});

export const FunctionSpecSchema = Type.Object({
  runtime: Type.Optional(StringEnum(Runtimes, { description: 'Language runtime; omit when image is set.' })),
  handler: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 253,
      description: 'Entry point; defaults per runtime (node: handler.default).',
    }),
  ),
  source: Type.Optional(Source),
  image: Type.Optional(
    ImageReference({
      description:
        'A ready image serving the function contract on :8080: [registry[:port]/]repository[:tag][@sha256:digest].',
    }),
  ),
  env: Type.Optional(Type.Array(EnvVar, { maxItems: 128 })),
  envFrom: Type.Optional(
    Type.Array(
      Type.Object({
        secretRef: Type.Optional(Type.Object({ name: Type.String({ pattern: DNS_LABEL, maxLength: 253 }) })),
        configMapRef: Type.Optional(Type.Object({ name: Type.String({ pattern: DNS_LABEL, maxLength: 253 }) })),
      }),
      { maxItems: 32 },
    ),
  ),
  resources: Type.Optional(
    Type.Object({
      cpu: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?m?$', description: 'e.g. 250m or 1' })),
      memory: Type.Optional(Type.String({ pattern: '^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$', description: 'e.g. 256Mi' })),
      gpu: Type.Optional(Type.Integer({ minimum: 0, maximum: 16, description: 'nvidia.com/gpu count.' })),
    }),
  ),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 900, default: 30, description: 'Per-request timeout.' }),
  scaling: Type.Object(
    {
      minReplicas: Type.Integer({ minimum: 0, maximum: 1000, default: 0 }),
      maxReplicas: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
      targetConcurrency: Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 10,
        description: 'In-flight requests per replica the autoscaler aims for.',
      }),
      scaleToZeroAfterSeconds: Type.Integer({ minimum: 0, maximum: 86400, default: 300 }),
      scaleDownDelaySeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
      pool: Type.Boolean({
        default: true,
        description:
          "Wake from zero on a warm pool pod of this namespace (node and python functions whose code is inline or in a ConfigMap and whose env has plain values): the pool pod takes the first requests while the revision's own pod starts. false: always wait for the revision's own pod.",
      }),
    },
    { default: {} },
  ),
  http: HttpRouteSchema('/fn/<namespace>/<name>'),
  traffic: Type.Optional(
    Type.Array(TrafficTarget, {
      minItems: 1,
      maxItems: 16,
      description: 'Split across revisions; percents sum to 100. Default: all to the latest ready revision.',
    }),
  ),
  revisionHistoryLimit: Type.Integer({
    minimum: 0,
    maximum: 50,
    default: 3,
    description: 'Retired revisions kept for rollback beyond those in traffic.',
  }),
});
export type FunctionSpec = Static<typeof FunctionSpecSchema>;

export const FunctionKind = defineKind({
  group: 'plinth.dev',
  version: 'v1alpha1',
  kind: 'Function',
  plural: 'functions',
  shortNames: ['fn'],
  categories: ['plinth'],
  scope: 'Namespaced',
  description:
    'A function: code or an image served over HTTP, scaled on demand (to zero), with revisions and traffic splits.',
  spec: FunctionSpecSchema,
  nameRule: FunctionNameRule,
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer()),
    url: Type.Optional(Type.String()),
    route: HeldRouteSchema,
    latestCreatedRevision: Type.Optional(Type.String()),
    latestReadyRevision: Type.Optional(Type.String()),
    traffic: Type.Optional(
      Type.Array(
        Type.Object({
          revision: Type.String(),
          percent: Type.Integer(),
          tag: Type.Optional(Type.String()),
          latestRevision: Type.Optional(Type.Boolean()),
        }),
      ),
    ),
    revisions: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          templateHash: Type.String(),
          replicas: Type.Integer(),
          readyReplicas: Type.Integer(),
          ready: Type.Boolean({ description: 'Has had a ready replica: it can serve, waking from zero if needed.' }),
        }),
      ),
    ),
    replicas: Type.Optional(Type.Integer()),
    readyReplicas: Type.Optional(Type.Integer()),
    lastError: Type.Optional(Type.String()),
    conditions: Type.Optional(ConditionsSchema),
  }),
  printerColumns: [
    { name: 'Runtime', type: 'string', jsonPath: '.spec.runtime' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Latest', type: 'string', jsonPath: '.status.latestReadyRevision' },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'URL', type: 'string', jsonPath: '.status.url' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
  ],
  rules: [
    {
      cel: 'has(self.image) != has(self.source)',
      check: (s) => (s.image !== undefined) !== (s.source !== undefined),
      message: 'set exactly one of spec.image (a ready image) or spec.source (code for a runtime)',
    },
    {
      cel: '!has(self.source) || has(self.runtime)',
      check: (s) => s.source === undefined || s.runtime !== undefined,
      field: 'runtime',
      message: 'spec.source needs spec.runtime: one of node, python, go, java',
    },
    {
      cel: '!has(self.source) || [has(self.source.inline), has(self.source.configMap), has(self.source.archive)].filter(x, x).size() == 1',
      check: (s) =>
        s.source === undefined ||
        [s.source.inline, s.source.configMap, s.source.archive].filter((x) => x !== undefined).length === 1,
      field: 'source',
      message: 'set exactly one of source.inline, source.configMap or source.archive',
    },
    {
      cel: 'self.scaling.minReplicas <= self.scaling.maxReplicas',
      check: (s) => s.scaling.minReplicas <= s.scaling.maxReplicas,
      field: 'scaling',
      message: 'scaling.minReplicas must not exceed scaling.maxReplicas',
    },
    {
      cel: '!has(self.traffic) || self.traffic.map(t, t.percent).sum() == 100',
      check: (s) => s.traffic === undefined || s.traffic.reduce((n, t) => n + t.percent, 0) === 100,
      field: 'traffic',
      message: 'traffic percents must add up to 100',
    },
    {
      cel: '!has(self.traffic) || self.traffic.all(t, has(t.revision) != (has(t.latestRevision) && t.latestRevision))',
      check: (s) =>
        s.traffic === undefined || s.traffic.every((t) => (t.revision !== undefined) !== (t.latestRevision === true)),
      field: 'traffic',
      message: 'each traffic entry names a revision or sets latestRevision: true, not both',
    },
  ],
});
export type FunctionObject = ObjectOf<typeof FunctionKind>;

/** The part of the spec that defines a revision: a change here creates a new revision. */
export function revisionTemplate(spec: FunctionSpec) {
  return {
    runtime: spec.runtime,
    handler: spec.handler ?? (spec.runtime ? DefaultHandlers[spec.runtime] : undefined),
    source: spec.source,
    image: spec.image,
    env: spec.env,
    envFrom: spec.envFrom,
    resources: spec.resources,
    timeoutSeconds: spec.timeoutSeconds,
  };
}
export type RevisionTemplate = ReturnType<typeof revisionTemplate>;

/** Labels on a Function's children: its pods, Deployments and Services carry the first two. */
export const FUNCTION_LABELS = {
  function: 'plinth.dev/function',
  revision: 'plinth.dev/revision',
} as const;

/** Runtimes whose generic process can be handed a function's code: the warm pool's. */
export const PoolRuntimes = ['node', 'python'] as const satisfies readonly Runtime[];
export type PoolRuntime = (typeof PoolRuntimes)[number];
/** Warm pool pods per namespace and pool runtime, unless the platform config says otherwise. */
export const DEFAULT_POOL_SIZE = 1;
/**
 * The warm pool's names, shared by the operator (which runs the pools) and the gateway (which
 * specializes their pods): a pool is a Deployment and a Service `plinth-pool-<runtime>` per
 * namespace, its idle pods labelled POOL_LABEL=<runtime>; a specialized pod leaves the pool
 * (the label goes, so the pool replaces it) and joins its revision with POOLED_LABEL=true.
 */
export const POOL = {
  label: 'plinth.dev/pool',
  pooled: 'plinth.dev/pooled',
  /** Annotation: when the gateway specialized the pod (RFC 3339). */
  specializedAt: 'plinth.dev/specialized-at',
  name: (runtime: PoolRuntime) => `plinth-pool-${runtime}`,
  /** The namespace Role (and RoleBinding) that lets the gateway read the code and relabel pods. */
  gatewayRole: 'plinth-gateway-pool',
} as const;

/** The ConfigMap holding a revision's code: the inline source's own, or the one the spec names. */
export function sourceConfigMapName(spec: Pick<FunctionSpec, 'source'>, revision: string): string | undefined {
  if (spec.source?.inline !== undefined) return `${revision}-source`;
  return spec.source?.configMap?.name;
}

/**
 * The pool runtime that can serve this Function's revisions from a warm pod, or undefined: the
 * code must be text the gateway can hand over (inline or a ConfigMap), its env plain values
 * (a pool pod holds no Secret), and no GPU or image of its own.
 */
export function poolRuntime(spec: FunctionSpec): PoolRuntime | undefined {
  const runtime = PoolRuntimes.find((r) => r === spec.runtime);
  if (!runtime || spec.scaling?.pool === false || spec.image || spec.envFrom?.length) return undefined;
  if (spec.resources?.gpu || !(spec.source?.inline !== undefined || spec.source?.configMap)) return undefined;
  if (spec.env?.some((e) => e.valueFrom || e.value === undefined)) return undefined;
  return runtime;
}

/** A stable hash of the revision template: JSON with sorted keys, undefined dropped. */
export function templateHash(template: RevisionTemplate): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, 10);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** `<name>-00001`: revision names count up per function. */
export function revisionName(fn: string, n: number): string {
  return `${fn}-${String(n).padStart(5, '0')}`;
}

export function revisionNumber(fn: string, revision: string): number | undefined {
  const m = new RegExp(`^${fn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{5,})$`).exec(revision);
  return m ? Number(m[1]) : undefined;
}

export interface ResolvedTarget {
  revision: string;
  percent: number;
  tag?: string;
  latestRevision?: boolean;
}

/**
 * Resolves spec.traffic against the revisions that exist: `latestRevision` becomes the latest
 * ready revision (or the latest created one while none is ready). Entries for the same
 * revision are merged. Throws with a message naming the entry when a revision is unknown.
 */
export function resolveTraffic(
  spec: FunctionSpec,
  revisions: { latestReady?: string; latestCreated: string; existing: ReadonlySet<string> },
): ResolvedTarget[] {
  const latest = revisions.latestReady ?? revisions.latestCreated;
  const targets = spec.traffic ?? [{ latestRevision: true, percent: 100 }];
  const out: ResolvedTarget[] = [];
  targets.forEach((t, i) => {
    const revision = t.latestRevision ? latest : (t.revision ?? latest);
    if (!revisions.existing.has(revision)) {
      throw new Error(
        `spec.traffic[${i}]: revision "${revision}" does not exist (known: ${[...revisions.existing].sort().join(', ')})`,
      );
    }
    const same = out.find((o) => o.revision === revision && !t.tag && !o.tag);
    if (same) same.percent += t.percent;
    else
      out.push({
        revision,
        percent: t.percent,
        ...(t.tag ? { tag: t.tag } : {}),
        ...(t.latestRevision ? { latestRevision: true } : {}),
      });
  });
  return out;
}

// One schema per kind: TypeBox describes the spec and status once; from it come the
// TypeScript type (Static), the CRD's structural openAPIV3Schema, and validation.
import { type Static, type TObject, type TSchema, Type, Kind as TypeBoxKind, TypeRegistry } from '@sinclair/typebox';
import { DefaultErrorFunction, SetErrorFunction, ValueErrorType } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

// StringEnum is a TypeBox kind of its own so it validates and renders as a plain `enum`.
TypeRegistry.Set<{ enum: string[] }>(
  'StringEnum',
  (schema, value) => typeof value === 'string' && schema.enum.includes(value),
);
SetErrorFunction((error) => {
  if (error.schema[TypeBoxKind] === 'StringEnum')
    return `must be one of: ${(error.schema.enum as string[]).join(', ')}`;
  const message = error.schema[PATTERN_MESSAGE];
  if (typeof message === 'string' && error.errorType === ValueErrorType.StringPattern) return message;
  return DefaultErrorFunction(error);
});

/** A string limited to the given values; rendered as an OpenAPI `enum` (structural, unlike anyOf). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
) {
  return Type.Unsafe<T[number]>({ [TypeBoxKind]: 'StringEnum', type: 'string', enum: [...values], ...options });
}

// Where a PatternString keeps its message; dropped from the CRD (only x-kubernetes-* keys stay).
const PATTERN_MESSAGE = 'x-plinth-pattern-message';

/**
 * A string that must match `pattern`, refused with `message` (what to write instead) rather than
 * the bare regular expression. The CRD carries it as a CEL rule on the field
 * (`self.matches(...)`), so the API server's error names the field and says what to fix;
 * TypeScript validation checks the same pattern and reports the same message. The pattern is
 * RE2 and ECMAScript alike and has no quote or backslash (write `[.]`, not `\\.`), so it
 * reads the same inside the CEL string literal.
 */
export function PatternString(
  pattern: string,
  message: string,
  options: { description?: string; minLength?: number; maxLength?: number; default?: string } = {},
) {
  if (/['\\]/.test(pattern)) throw new Error(`PatternString: no quotes or backslashes in ${pattern}`);
  return Type.String({ ...options, pattern, [PATTERN_MESSAGE]: message });
}

/**
 * An OCI image reference as container runtimes parse it (the distribution reference grammar):
 * `[host[:port]/]path[:tag][@sha256:<hex>]`, no whitespace, lowercase path components.
 */
export const IMAGE_REFERENCE =
  '^(([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])([.]([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9]))*(:[0-9]+)?/)?' +
  '[a-z0-9]+(([.]|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([.]|_|__|-+)[a-z0-9]+)*)*' +
  '(:[a-zA-Z0-9_][-a-zA-Z0-9_.]{0,127})?(@sha256:[a-f0-9]{64})?$';

/** `spec.image`-style fields: an image reference, refused with what a valid one looks like. */
export function ImageReference(options: { description?: string } = {}) {
  return PatternString(
    IMAGE_REFERENCE,
    'must be an image reference [registry[:port]/]repository[:tag][@sha256:<64 hex digits>] with a lowercase repository and no spaces, e.g. registry.example.com/team/app:1.4',
    { minLength: 1, maxLength: 1024, ...options },
  );
}

/** A standard Kubernetes condition (metav1.Condition). */
export const ConditionSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 316 }),
  status: StringEnum(['True', 'False', 'Unknown'] as const),
  reason: Type.String({ minLength: 1, maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type Condition = Static<typeof ConditionSchema>;

/** `status.conditions`, as a map list keyed by type so server-side apply merges it per condition. */
export const ConditionsSchema = Type.Array(ConditionSchema, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

/** Where the gateway serves something: a path prefix, and optionally a host name too. */
export function HttpRouteSchema(defaultPath: string) {
  return Type.Object(
    {
      path: Type.Optional(
        Type.String({
          pattern: '^/[-a-zA-Z0-9_./]*$',
          maxLength: 253,
          description: `Path prefix; default ${defaultPath}.`,
        }),
      ),
      host: Type.Optional(
        Type.String({
          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
          maxLength: 253,
          description: 'Also route requests for this host name.',
        }),
      ),
    },
    { default: {} },
  );
}

/**
 * status.route of a Function or GraphQL API: the path and host the gateway routes to it,
 * written by the operator when its claim is accepted (and removed when refused). It keeps them
 * against later claims, whatever their age; tenants cannot write status.
 */
export const HeldRouteSchema = Type.Optional(
  Type.Object(
    {
      path: Type.String({ description: 'The path prefix it holds, without trailing slashes.' }),
      host: Type.Optional(Type.String({ description: 'The host name it holds.' })),
      since: Type.Optional(
        Type.String({ description: 'When the operator first recorded this path and host (RFC 3339).' }),
      ),
    },
    {
      description:
        'The path and host the gateway routes here, recorded by the operator when the claim was accepted: a later claim on them, however old its object, does not take them.',
    },
  ),
);

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

export interface KindDefinition<Spec extends TObject, Status extends TObject> {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular?: string;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  readonly description: string;
  readonly spec: Spec;
  readonly status: Status;
  readonly printerColumns?: readonly PrinterColumn[];
  /**
   * Cross-field rules on the spec: each is a CEL rule the API server enforces (rendered into
   * x-kubernetes-validations) and the same rule as a TypeScript predicate for local checks.
   */
  readonly rules?: readonly SpecRule<Static<Spec>>[];
  /**
   * What metadata.name must be because the operator derives Kubernetes names from it. The API
   * server refuses any other name (CEL rules at the CRD root, where `self.metadata.name` is
   * visible) and `validate` checks the same rule, so no object is stored that the operator
   * could only fail on later.
   */
  readonly nameRule?: NameRule;
}

export interface NameRule {
  /** Longest name: the longest derived name must still fit its own limit. */
  readonly maxLength: number;
  /** A DNS-1035 label (starts with a letter), as a Service name must be; otherwise a DNS-1123 label. */
  readonly dns1035?: boolean;
  /** Why, for the message: which name the operator derives and its limit. */
  readonly because: string;
}

const DNS1035_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$';
const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** The rules a NameRule stands for: CEL over the whole object, and the same check over the name. */
export function nameRules(rule: NameRule): { cel: string; check: (name: string) => boolean; message: string }[] {
  const pattern = rule.dns1035 ? DNS1035_LABEL : DNS1123_LABEL;
  const label = rule.dns1035
    ? "a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (no dots)"
    : "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (no dots)";
  return [
    {
      cel: `self.metadata.name.size() <= ${rule.maxLength}`,
      check: (name) => name.length <= rule.maxLength,
      message: `may have at most ${rule.maxLength} characters: ${rule.because}`,
    },
    {
      cel: `self.metadata.name.matches('${pattern}')`,
      check: (name) => new RegExp(pattern).test(name),
      message: `must be ${label}; ${rule.because}`,
    },
  ];
}

export interface SpecRule<S> {
  /** CEL over `self` (the spec), as the API server evaluates it. */
  readonly cel: string;
  /** The same rule in TypeScript; true when the spec is valid. */
  readonly check: (spec: S) => boolean;
  /** The field to blame, relative to spec, e.g. `traffic`. */
  readonly field?: string;
  readonly message: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The metadata fields Plinth reads and writes (metav1.ObjectMeta, timestamps as strings). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

/** The full object of a kind: what `kubectl get -o json` returns. */
export interface KindObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export interface ValidationIssue {
  /** JSON path in kubectl style, e.g. `spec.replicas` or `spec.tags[2]`. */
  readonly path: string;
  readonly message: string;
}

export interface Kind<Spec extends TObject, Status extends TObject> extends KindDefinition<Spec, Status> {
  readonly apiVersion: string;
  /** Resource name of the CRD: `<plural>.<group>`. */
  readonly crdName: string;
  readonly namespaced: boolean;
  /** Checks a full object against the schema; returns every problem, each with the field to fix. */
  validate(obj: unknown): ValidationIssue[];
  /** The spec with schema defaults filled in (what the API server would store). */
  withDefaults(spec: Static<Spec>): Static<Spec>;
  /** The CustomResourceDefinition for this kind; pure and deterministic. */
  crd(): Record<string, unknown>;
}

export type SpecOf<K> = K extends Kind<infer S, TObject> ? Static<S> : never;
export type StatusOf<K> = K extends Kind<TObject, infer S> ? Static<S> : never;
export type ObjectOf<K> = K extends Kind<infer S, infer St> ? KindObject<Static<S>, Static<St>> : never;

export function defineKind<Spec extends TObject, Status extends TObject>(
  def: KindDefinition<Spec, Status>,
): Kind<Spec, Status> {
  const apiVersion = `${def.group}/${def.version}`;
  const objectSchema = Type.Object({
    apiVersion: Type.Literal(apiVersion),
    kind: Type.Literal(def.kind),
    metadata: Type.Object({}, { additionalProperties: true }),
    spec: def.spec,
    status: Type.Optional(def.status),
  });
  return {
    ...def,
    apiVersion,
    crdName: `${def.plural}.${def.group}`,
    namespaced: def.scope === 'Namespaced',
    // Defaults first, as the API server applies them before it validates; rules only on a
    // spec that has the right shape, as the API server does.
    validate: (obj) => {
      const withDefaults = Value.Default(objectSchema, structuredClone(obj)) as { spec?: Static<Spec> };
      const issues = [...Value.Errors(objectSchema, withDefaults)].map((e) => ({
        path: toKubectlPath(e.path),
        message: e.message,
      }));
      const name = (obj as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
      if (def.nameRule && typeof name === 'string') {
        for (const r of nameRules(def.nameRule))
          if (!r.check(name)) issues.push({ path: 'metadata.name', message: r.message });
      }
      if (issues.length > 0 || !withDefaults.spec) return issues;
      const spec = withDefaults.spec;
      return (def.rules ?? [])
        .filter((r) => !r.check(spec))
        .map((r) => ({ path: r.field ? `spec.${r.field}` : 'spec', message: r.message }));
    },
    withDefaults: (spec) => Value.Default(def.spec, structuredClone(spec)) as Static<Spec>,
    crd: () => renderCrd(def),
  };
}

function toKubectlPath(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

// Keywords a structural schema may carry; everything else TypeBox adds is dropped.
const KEEP = new Set([
  'type',
  'description',
  'format',
  'default',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'nullable',
]);

/** Converts a TypeBox schema to a Kubernetes structural schema. Exported for tests. */
export function toStructural(schema: TSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const s = schema as Record<string, unknown>;
  for (const [key, value] of Object.entries(s)) {
    if (KEEP.has(key) || key.startsWith('x-kubernetes-')) out[key] = value;
  }
  if (s.const !== undefined) {
    out.type ??= typeof s.const;
    out.enum = [s.const];
  }
  if (s.type === 'object') {
    const props = s.properties as Record<string, TSchema> | undefined;
    if (props && Object.keys(props).length > 0) {
      out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toStructural(v)]));
      // A field with a default is never missing after defaulting, so it is not `required`
      // (the API server also checks an object's own `default: {}` against `required`).
      const required = (s.required as string[] | undefined)?.filter((k) => props[k]?.default === undefined);
      if (required?.length) out.required = required;
    } else if (s.patternProperties && typeof s.patternProperties === 'object') {
      // Type.Record: a map; Kubernetes expresses maps as additionalProperties.
      const [value] = Object.values(s.patternProperties as Record<string, TSchema>);
      if (value) out.additionalProperties = toStructural(value);
    } else if (typeof s.additionalProperties === 'object') {
      out.additionalProperties = toStructural(s.additionalProperties as TSchema);
    } else if (s.additionalProperties === true || !props) {
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
  }
  if (s.type === 'array' && s.items) out.items = toStructural(s.items as TSchema);
  // A PatternString: the pattern becomes a CEL rule, so the API server answers with its message.
  if (typeof s[PATTERN_MESSAGE] === 'string' && typeof s.pattern === 'string') {
    delete out.pattern;
    out['x-kubernetes-validations'] = [
      ...((out['x-kubernetes-validations'] as unknown[] | undefined) ?? []),
      { rule: `self.matches('${s.pattern}')`, message: s[PATTERN_MESSAGE] },
    ];
  }
  return out;
}

function renderCrd<Spec extends TObject, Status extends TObject>(
  def: KindDefinition<Spec, Status>,
): Record<string, unknown> {
  const singular = def.singular ?? def.kind.toLowerCase();
  const names: Record<string, unknown> = { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular };
  if (def.shortNames?.length) names.shortNames = [...def.shortNames];
  if (def.categories?.length) names.categories = [...def.categories];
  const columns = [
    ...(def.printerColumns ?? []).map((c) => ({ ...c })),
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${def.group}`, labels: { 'app.kubernetes.io/part-of': 'plinth' } },
    spec: {
      group: def.group,
      names,
      scope: def.scope,
      versions: [
        {
          name: def.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                // The name rules' fieldPath must be a path the schema declares.
                metadata: def.nameRule
                  ? { type: 'object', properties: { name: { type: 'string' } } }
                  : { type: 'object' },
                spec: {
                  ...toStructural(def.spec),
                  ...(def.rules?.length
                    ? {
                        'x-kubernetes-validations': def.rules.map((r) => ({
                          rule: r.cel,
                          message: r.message,
                          ...(r.field ? { fieldPath: `.${r.field}` } : {}),
                        })),
                      }
                    : {}),
                },
                status: toStructural(def.status),
              },
              required: ['spec'],
              ...(def.nameRule
                ? {
                    'x-kubernetes-validations': nameRules(def.nameRule).map((r) => ({
                      rule: r.cel,
                      message: r.message,
                      fieldPath: '.metadata.name',
                    })),
                  }
                : {}),
            },
          },
        },
      ],
    },
  };
}

// One schema per kind: TypeBox describes the spec and status once; from it come the
// TypeScript type (Static), the CRD's structural openAPIV3Schema, and validation.
import { type Static, type TObject, type TSchema, Type, Kind as TypeBoxKind, TypeRegistry } from '@sinclair/typebox';
import { DefaultErrorFunction, SetErrorFunction } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';

// StringEnum is a TypeBox kind of its own so it validates and renders as a plain `enum`.
TypeRegistry.Set<{ enum: string[] }>(
  'StringEnum',
  (schema, value) => typeof value === 'string' && schema.enum.includes(value),
);
SetErrorFunction((error) =>
  error.schema[TypeBoxKind] === 'StringEnum'
    ? `must be one of: ${(error.schema.enum as string[]).join(', ')}`
    : DefaultErrorFunction(error),
);

/** A string limited to the given values; rendered as an OpenAPI `enum` (structural, unlike anyOf). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
) {
  return Type.Unsafe<T[number]>({ [TypeBoxKind]: 'StringEnum', type: 'string', enum: [...values], ...options });
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
                metadata: { type: 'object' },
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
            },
          },
        },
      ],
    },
  };
}

// GraphQLApi: a permissioned GraphQL API (PostGraphile 5) over one Database. It connects as a
// login role of that Database (the authenticator, which should hold nothing but membership in
// the roles tokens may assume), turns a verified JWT's role claim into SET LOCAL ROLE and its
// claims into jwt.claims.* settings for RLS, and is routed through the gateway.
import { type Static, Type } from '@sinclair/typebox';
import { configFile } from '../config.ts';
import {
  ConditionsSchema,
  defineKind,
  HeldRouteSchema,
  HttpRouteSchema,
  type ObjectOf,
  StringEnum,
} from '../schema.ts';

const Ident = (description?: string) =>
  Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', ...(description ? { description } : {}) });
const SecretKeyRef = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 253 }),
  key: Type.String({ pattern: '^[-._a-zA-Z0-9]+$', maxLength: 253 }),
});

export const GraphQLApiSpecSchema = Type.Object({
  databaseRef: Type.Object(
    { name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 253 }) },
    { description: 'A Database in the same namespace.' },
  ),
  authenticator: Ident('A login role of that Database; the API connects as it (password from its Secret).'),
  schemas: Type.Array(Ident(), { minItems: 1, maxItems: 16, description: 'Schemas to expose.' }),
  roles: Type.Array(Ident(), {
    minItems: 1,
    maxItems: 64,
    description: 'Roles a token may assume; the authenticator must be a member of each.',
  }),
  anonymousRole: Type.Optional(Ident('Role for requests without a token; without it they get 401.')),
  jwt: Type.Object({
    secretRef: Type.Optional(SecretKeyRef),
    jwksUri: Type.Optional(
      Type.String({ pattern: '^https://', maxLength: 2048, description: 'JWKS of an OIDC issuer (https).' }),
    ),
    issuer: Type.Optional(Type.String({ maxLength: 2048, description: 'Required iss claim.' })),
    audience: Type.Optional(Type.String({ maxLength: 2048, description: 'Required aud claim.' })),
    roleClaim: Type.String({ default: 'role', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', maxLength: 64 }),
  }),
  limits: Type.Object(
    {
      maxDepth: Type.Integer({ minimum: 1, maximum: 100, default: 12, description: 'Deepest selection allowed.' }),
      maxCost: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 5000, description: 'Query cost ceiling.' }),
    },
    { default: {} },
  ),
  introspection: Type.Boolean({ default: false, description: 'Allow __schema and __type queries.' }),
  replicas: Type.Integer({ minimum: 0, maximum: 100, default: 2 }),
  http: HttpRouteSchema('/graphql/<namespace>/<name>'),
});
export type GraphQLApiSpec = Static<typeof GraphQLApiSpecSchema>;

export const GraphQLApiKind = defineKind({
  group: 'plinth.dev',
  version: 'v1alpha1',
  kind: 'GraphQLApi',
  plural: 'graphqlapis',
  shortNames: ['gqlapi'],
  categories: ['plinth'],
  scope: 'Namespaced',
  description: 'A permissioned GraphQL API over a Database: JWT to role and RLS claims, limits, metrics.',
  spec: GraphQLApiSpecSchema,
  nameRule: {
    maxLength: 59,
    because:
      'the operator names the Service gql-<name> after it, and a Service name is a DNS-1035 label of at most 63 characters',
  },
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer()),
    url: Type.Optional(Type.String({ description: 'Where the gateway serves it.' })),
    route: HeldRouteSchema,
    readyReplicas: Type.Optional(Type.Integer()),
    lastError: Type.Optional(Type.String()),
    conditions: Type.Optional(ConditionsSchema),
  }),
  printerColumns: [
    { name: 'URL', type: 'string', jsonPath: '.status.url' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  ],
  rules: [
    {
      cel: 'has(self.jwt.secretRef) != has(self.jwt.jwksUri)',
      check: (s) => !!s.jwt.secretRef !== !!s.jwt.jwksUri,
      field: 'jwt',
      message: 'set exactly one of jwt.secretRef (shared secret) or jwt.jwksUri (OIDC issuer)',
    },
    {
      cel: '!has(self.anonymousRole) || !(self.anonymousRole in self.roles)',
      check: (s) => !s.anonymousRole || !s.roles.includes(s.anonymousRole),
      field: 'anonymousRole',
      message: 'anonymousRole must not be one of roles: a token should never be needed to become the anonymous role',
    },
    {
      cel: '!(self.authenticator in self.roles) && (!has(self.anonymousRole) || self.authenticator != self.anonymousRole)',
      check: (s) => !s.roles.includes(s.authenticator) && s.authenticator !== s.anonymousRole,
      field: 'authenticator',
      message: 'the authenticator must not be a role requests run as',
    },
  ],
});
export type GraphQLApiObject = ObjectOf<typeof GraphQLApiKind>;

/** The Deployment and Service serving a GraphQLApi (the gateway's target is `<ns>/<this>`). */
export const graphqlServiceName = (name: string): string => `gql-${name}`;

/** The gateway path prefix of a GraphQLApi. */
export function graphqlPrefix(api: { metadata: { namespace?: string; name?: string }; spec: GraphQLApiSpec }): string {
  return GraphQLApiKind.withDefaults(api.spec).http.path ?? `/graphql/${api.metadata.namespace}/${api.metadata.name}`;
}

/** How a GraphQL API server authenticates requests: one of secret or jwksUrl. */
export const GraphqlJwtConfigSchema = Type.Object({
  secret: Type.Optional(Type.String({ minLength: 1, description: 'HMAC shared secret (HS256/384/512).' })),
  jwksUrl: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'JWKS URL of an OIDC issuer (RS*, ES*, PS*, EdDSA).' }),
  ),
  issuer: Type.Optional(Type.String()),
  audience: Type.Optional(Type.String()),
  roleClaim: Type.Optional(
    Type.String({ minLength: 1, description: 'The claim naming the PostgreSQL role. Default: role.' }),
  ),
  clockToleranceSeconds: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Allowed clock skew in seconds. Default: 30.' }),
  ),
});
export type GraphqlJwtConfig = Static<typeof GraphqlJwtConfigSchema>;

/** The config file of plinth-graphql, which the operator renders from a GraphQLApi. */
export const GraphqlConfigSchema = Type.Object({
  roles: Type.Optional(
    Type.Array(Ident(), { description: 'Roles a token may name; anything else is refused with 403.' }),
  ),
  anonymousRole: Type.Optional(Ident('The role of requests without a token; without it they get 401.')),
  database: Type.Object({
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    database: Type.String({ minLength: 1 }),
    user: Type.String({ minLength: 1 }),
    password: Type.String(),
    ca: Type.Optional(Type.String({ description: "PEM CA for the server's certificate; without it the system CAs." })),
    sslmode: Type.Optional(
      StringEnum(['verify-full', 'disable'] as const, {
        description: 'Default verify-full; disable only for a server without TLS on a trusted network.',
      }),
    ),
  }),
  schemas: Type.Array(Ident(), { minItems: 1, description: 'Schemas to expose.' }),
  // Without jwt the API is unauthenticated: every request runs as the connecting role (baselines only).
  jwt: Type.Optional(GraphqlJwtConfigSchema),
  limits: Type.Optional(
    Type.Object({
      maxDepth: Type.Optional(Type.Integer({ minimum: 1 })),
      maxCost: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
  ),
  introspection: Type.Optional(Type.Boolean({ description: 'Allow __schema/__type queries. Default: false.' })),
  poolSize: Type.Optional(Type.Integer({ minimum: 1, description: 'Connections in the pool. Default: 10.' })),
});
export type GraphqlConfig = Static<typeof GraphqlConfigSchema>;

/** plinth-graphql's config file: its schema and the checks across fields, run once at start. */
export const GraphqlConfigFile = configFile('GraphQL API config', GraphqlConfigSchema, [
  {
    field: 'jwt',
    check: (c) => !c.jwt || !!c.jwt.secret !== !!c.jwt.jwksUrl,
    message: 'set exactly one of secret or jwksUrl',
  },
  {
    field: 'roles',
    check: (c) => !c.jwt || !!c.roles?.length,
    message: 'list the roles a token may assume (required with jwt)',
  },
]);

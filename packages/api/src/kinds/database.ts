// Database: a PostgreSQL database and who may do what in it, down to columns and rows. The
// server is reached through a connection Secret; Plinth creates the database, its extensions
// and schemas if missing (never drops them), manages its roles, and converges privileges.
import { type Static, Type } from '@sinclair/typebox';
import { ConditionsSchema, defineKind, type ObjectOf, StringEnum } from '../schema.ts';

const IDENT = '^[a-z_][a-z0-9_]{0,62}$';
const QUALIFIED = '^[a-z_][a-z0-9_]{0,62}\\.[a-z_][a-z0-9_]{0,62}$';
const Ident = (description?: string) =>
  Type.String({ pattern: IDENT, maxLength: 63, ...(description ? { description } : {}) });

// The PostgreSQL privileges a Database may grant, per object: the schema's enums and CEL rules
// below, and the planner's declaration types (@plinth/pg-access), are made from these lists.
/** TEMP is accepted as the short form of TEMPORARY. */
export const DatabasePrivileges = ['CONNECT', 'CREATE', 'TEMPORARY', 'TEMP'] as const;
export type DatabasePrivilege = (typeof DatabasePrivileges)[number];
export const SchemaPrivileges = ['USAGE', 'CREATE'] as const;
export type SchemaPrivilege = (typeof SchemaPrivileges)[number];
export const TablePrivileges = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;
export type TablePrivilege = (typeof TablePrivileges)[number];
/** The table privileges that may be granted on columns. */
export const ColumnPrivileges = [
  'SELECT',
  'INSERT',
  'UPDATE',
  'REFERENCES',
] as const satisfies readonly TablePrivilege[];
export type ColumnPrivilege = (typeof ColumnPrivileges)[number];
export const SequencePrivileges = ['USAGE', 'SELECT', 'UPDATE'] as const;
export type SequencePrivilege = (typeof SequencePrivileges)[number];
export const FunctionPrivileges = ['EXECUTE'] as const;
export type FunctionPrivilege = (typeof FunctionPrivileges)[number];
/** Objects created later that default privileges apply to, with the privileges each takes. */
export const DefaultPrivilegeObjects = {
  TABLES: TablePrivileges,
  SEQUENCES: SequencePrivileges,
  FUNCTIONS: FunctionPrivileges,
} as const;
export type DefaultPrivilegeObject = keyof typeof DefaultPrivilegeObjects;
const defaultObjects = Object.keys(DefaultPrivilegeObjects) as DefaultPrivilegeObject[];
/** Every privilege some object of default privileges takes, each once. */
const defaultPrivilegeNames = [...new Set(Object.values(DefaultPrivilegeObjects).flat())];
/** The commands a row-security policy applies to. */
export const PolicyCommands = ['ALL', 'SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
export type PolicyCommand = (typeof PolicyCommands)[number];

/** CEL: `v` is one of `xs`. */
const celIn = (v: string, xs: readonly string[]) =>
  xs.length === 1 ? `${v} == "${xs[0]}"` : `${v} in [${xs.map((x) => `"${x}"`).join(', ')}]`;
/** `A, B or C`: a list in a message. */
const orList = (xs: readonly string[]) =>
  xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)}`;

const SecretName = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 253 });

export const DatabaseSpecSchema = Type.Object({
  serverRef: Type.Optional(
    Type.Object(
      { name: SecretName },
      {
        description:
          'A PostgreSQL server the platform offers: a Secret of that name in the platform namespace, labelled plinth.dev/database-server=true, whose annotation plinth.dev/database-namespaces lists the namespaces that may use it (or *). Tenants never see its credentials. Set this or connectionSecretRef.',
      },
    ),
  ),
  connectionSecretRef: Type.Optional(
    Type.Object(
      { name: SecretName },
      {
        description:
          "The team's own server: a Secret in this namespace with host, port, username, password (a role that may create roles and databases), and optional ca.crt. Anyone who can read Secrets here holds those credentials. Set this or serverRef.",
      },
    ),
  ),
  databaseName: Type.Optional(
    Ident(
      'Default: metadata.name with - as _. A database belongs to the Database that created it (recorded in PostgreSQL); another Database naming it is refused.',
    ),
  ),
  extensions: Type.Optional(Type.Array(Ident(), { maxItems: 32 })),
  schemas: Type.Optional(Type.Array(Ident(), { maxItems: 64 })),
  roles: Type.Array(
    Type.Object({
      name: Ident(),
      login: Type.Boolean({
        default: false,
        description: 'Login roles get a generated password in Secret <Database>-<role>.',
      }),
      inherit: Type.Boolean({
        default: true,
        description: "Use its groups' privileges without SET ROLE; false for a GraphQL API authenticator.",
      }),
      memberOf: Type.Optional(
        Type.Array(Ident(), {
          maxItems: 32,
          description:
            "Roles of this Database (or roles the platform lists as grantable) this role joins; never PostgreSQL's predefined roles, superusers or another Database's roles.",
        }),
      ),
    }),
    { maxItems: 256 },
  ),
  databasePrivileges: Type.Optional(
    Type.Array(
      Type.Object({
        role: Ident(),
        privileges: Type.Array(StringEnum(DatabasePrivileges), {
          minItems: 1,
          maxItems: DatabasePrivileges.length,
        }),
      }),
      {
        maxItems: 256,
        description:
          'Privileges on this database. PUBLIC has none; login roles of this Database may CONNECT without saying so.',
      },
    ),
  ),
  schemaPrivileges: Type.Optional(
    Type.Array(
      Type.Object({
        role: Ident(),
        schema: Ident(),
        privileges: Type.Array(StringEnum(SchemaPrivileges), { minItems: 1, maxItems: SchemaPrivileges.length }),
      }),
      {
        maxItems: 1024,
      },
    ),
  ),
  tablePrivileges: Type.Optional(
    Type.Array(
      Type.Object({
        role: Ident(),
        table: Type.String({ pattern: QUALIFIED, description: 'schema.table' }),
        privileges: Type.Array(StringEnum(TablePrivileges), { minItems: 1, maxItems: TablePrivileges.length }),
        columns: Type.Optional(
          Type.Array(Ident(), {
            maxItems: 1600,
            description: `Only these columns (${ColumnPrivileges.join(', ')}).`,
          }),
        ),
      }),
      { maxItems: 1024 },
    ),
  ),
  sequencePrivileges: Type.Optional(
    Type.Array(
      Type.Object({
        role: Ident(),
        sequence: Type.String({ pattern: QUALIFIED, description: 'schema.sequence' }),
        privileges: Type.Array(StringEnum(SequencePrivileges), { minItems: 1, maxItems: SequencePrivileges.length }),
      }),
      { maxItems: 1024 },
    ),
  ),
  functionPrivileges: Type.Optional(
    Type.Array(
      Type.Object({
        role: Ident(),
        function: Type.String({
          pattern: '^[a-z_][a-z0-9_]{0,62}\\.[a-z_][a-z0-9_]{0,62}\\([a-z0-9_ ,\\[\\]]*\\)$',
          maxLength: 512,
          description: 'schema.name(argument types), e.g. app.total(integer, text); procedures too.',
        }),
        privileges: Type.Array(StringEnum(FunctionPrivileges), { minItems: 1, maxItems: FunctionPrivileges.length }),
      }),
      { maxItems: 1024 },
    ),
  ),
  defaultPrivileges: Type.Optional(
    Type.Array(
      Type.Object({
        role: Ident(),
        schema: Ident(),
        objects: StringEnum(defaultObjects),
        privileges: Type.Array(StringEnum(defaultPrivilegeNames), {
          minItems: 1,
          maxItems: Math.max(...Object.values(DefaultPrivilegeObjects).map((p) => p.length)),
        }),
        creator: Type.Optional(
          Ident(
            "A role of this Database whose future objects this covers. Default: the Database's owner role (status.ownerRole), which creates its schemas.",
          ),
        ),
      }),
      { maxItems: 256, description: 'Privileges on objects created later in a schema.' },
    ),
  ),
  rowSecurity: Type.Optional(
    Type.Array(
      Type.Object({
        table: Type.String({ pattern: QUALIFIED }),
        enabled: Type.Boolean(),
        forced: Type.Optional(Type.Boolean()),
      }),
      {
        maxItems: 1024,
      },
    ),
  ),
  policies: Type.Optional(
    Type.Array(
      Type.Object({
        table: Type.String({ pattern: QUALIFIED }),
        name: Ident(),
        command: StringEnum(PolicyCommands, { default: 'ALL' }),
        roles: Type.Array(Ident(), { minItems: 1, maxItems: 64 }),
        using: Type.Optional(
          Type.String({
            maxLength: 4096,
            description: 'One SQL boolean expression (checked by the PostgreSQL parser).',
          }),
        ),
        withCheck: Type.Optional(
          Type.String({
            maxLength: 4096,
            description: 'One SQL boolean expression (checked by the PostgreSQL parser).',
          }),
        ),
      }),
      { maxItems: 1024 },
    ),
  ),
  allowDestructive: Type.Boolean({ default: false, description: 'Allow plans that drop roles owning objects.' }),
});
export type DatabaseSpec = Static<typeof DatabaseSpecSchema>;

export const DatabaseKind = defineKind({
  group: 'plinth.dev',
  version: 'v1alpha1',
  kind: 'Database',
  plural: 'databases',
  shortNames: ['pgdb'],
  categories: ['plinth'],
  scope: 'Namespaced',
  description: 'A PostgreSQL database with declared roles, privileges (database to column) and row-level security.',
  spec: DatabaseSpecSchema,
  nameRule: {
    maxLength: 63,
    because:
      'the operator labels its login Secrets plinth.dev/database=<name> (a label value of at most 63 characters) and derives the default database name from it',
  },
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer()),
    databaseName: Type.Optional(Type.String()),
    ownerRole: Type.Optional(
      Type.String({
        description:
          "The NOLOGIN role that owns the database and applies grants, row security and policies, as a member of this Database's roles only.",
      }),
    ),
    lastAppliedPlan: Type.Optional(
      Type.Array(Type.String(), { description: 'SQL of the last applied plan, secrets redacted.' }),
    ),
    pendingPlan: Type.Optional(Type.Array(Type.String(), { description: 'A plan refused as destructive.' })),
    lastError: Type.Optional(Type.String()),
    conditions: Type.Optional(ConditionsSchema),
  }),
  printerColumns: [
    { name: 'Database', type: 'string', jsonPath: '.status.databaseName' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  ],
  rules: [
    {
      cel: 'has(self.serverRef) != has(self.connectionSecretRef)',
      check: (s) => (s.serverRef !== undefined) !== (s.connectionSecretRef !== undefined),
      field: 'serverRef',
      message: 'set exactly one of serverRef (a server the platform offers) or connectionSecretRef (your own server)',
    },
    {
      cel: 'self.roles.all(r, !r.name.matches("^(pg_|plinth_)") && (!has(r.memberOf) || r.memberOf.all(m, !m.matches("^(pg_|plinth_)"))))',
      check: (s) =>
        s.roles.every(
          (r) => !/^(pg_|plinth_)/.test(r.name) && (r.memberOf ?? []).every((m) => !/^(pg_|plinth_)/.test(m)),
        ),
      field: 'roles',
      message:
        "roles cannot be named pg_* or plinth_*, nor join PostgreSQL's predefined roles (pg_*) or Plinth's (plinth_*)",
    },
    {
      cel: `!has(self.tablePrivileges) || self.tablePrivileges.all(t, !has(t.columns) || t.privileges.all(p, ${celIn('p', ColumnPrivileges)}))`,
      check: (s) =>
        (s.tablePrivileges ?? []).every(
          (t) => !t.columns || t.privileges.every((p) => (ColumnPrivileges as readonly string[]).includes(p)),
        ),
      field: 'tablePrivileges',
      message: `column privileges can only be ${orList(ColumnPrivileges)}`,
    },
    {
      cel: `!has(self.defaultPrivileges) || self.defaultPrivileges.all(d, d.privileges.all(p, d.objects == "TABLES" ? ${celIn('p', TablePrivileges)} : d.objects == "SEQUENCES" ? ${celIn('p', SequencePrivileges)} : ${celIn('p', FunctionPrivileges)}))`,
      check: (s) =>
        (s.defaultPrivileges ?? []).every((d) =>
          d.privileges.every((p) => (DefaultPrivilegeObjects[d.objects] as readonly string[]).includes(p)),
        ),
      field: 'defaultPrivileges',
      message: `default privileges must fit their objects: TABLES take table privileges, SEQUENCES take ${orList(SequencePrivileges)}, FUNCTIONS take ${orList(FunctionPrivileges)}`,
    },
  ],
});
export type DatabaseObject = ObjectOf<typeof DatabaseKind>;

// The declaration: who exists, what they may do on which objects, and which rows they see. The
// privileges each object takes are the Database kind's (@plinth/api): one list for both.
import type {
  ColumnPrivilege,
  DatabasePrivilege,
  DefaultPrivilegeObject,
  FunctionPrivilege,
  PolicyCommand,
  SchemaPrivilege,
  SequencePrivilege,
  TablePrivilege,
} from '@plinth/api';

export interface RoleDecl {
  name: string;
  /** A login role; its password is set on creation (and whenever `password` is given). */
  login?: boolean;
  password?: string;
  /**
   * Whether it uses its groups' privileges without SET ROLE. Default true; false for an
   * authenticator that should hold nothing until it switches role.
   */
  inherit?: boolean;
  /** Group roles this role is a member of. */
  memberOf?: string[];
}

export interface Declaration {
  roles: RoleDecl[];
  /**
   * The role object-level steps run as (grants, row security, policies, default privileges):
   * a NOLOGIN role that exists already, made a member of every declared role so it acts as
   * the owner of their objects and of nothing else. Role steps (create, alter, membership,
   * drop) run as the connecting role. Without it, every step runs as the connecting role.
   */
  steward?: string;
  /** Privileges on the database the plan runs in. */
  database?: { role: string; privileges: DatabasePrivilege[] }[];
  schemas?: { role: string; schema: string; privileges: SchemaPrivilege[] }[];
  /** `table` is `schema.table`. With `columns`, the privileges apply to those columns only. */
  tables?: { role: string; table: string; privileges: (TablePrivilege | ColumnPrivilege)[]; columns?: string[] }[];
  /** `sequence` is `schema.sequence`. */
  sequences?: { role: string; sequence: string; privileges: SequencePrivilege[] }[];
  /** `function` is `schema.name(argument types)`, as in `GRANT ... ON FUNCTION`; procedures too. */
  functions?: { role: string; function: string; privileges: FunctionPrivilege[] }[];
  /**
   * Privileges on objects that `creator` (default: the role applying the plan) creates later
   * in `schema`.
   */
  defaultPrivileges?: {
    role: string;
    schema: string;
    objects: DefaultPrivilegeObject;
    privileges: string[];
    creator?: string;
  }[];
  rowSecurity?: { table: string; enabled: boolean; forced?: boolean }[];
  policies?: {
    table: string;
    name: string;
    command?: PolicyCommand;
    roles: string[];
    using?: string;
    withCheck?: string;
  }[];
}

/** The catalog, as far as the managed roles and declared tables are concerned. */
export interface CatalogState {
  /** Managed roles that exist, with their attributes (ownsObjects: anything, in any database). */
  roles: Map<string, { login: boolean; inherit: boolean; ownsObjects: boolean }>;
  /** Declared roles that exist but are not managed by this declaration -> their owner, if Plinth's. */
  foreignRoles: Map<string, string | undefined>;
  /** `member>group` for memberships of managed roles. */
  memberships: Set<string>;
  /** Managed roles the steward is a member of. */
  stewardOf: Set<string>;
  /** The database the catalog was read in, and the role reading it. */
  database: string;
  currentUser: string;
  /** `role|PRIV` on the current database. */
  databaseGrants: Set<string>;
  /** `role|schema|PRIV`. */
  schemaGrants: Set<string>;
  /** `role|schema.table|PRIV`. */
  tableGrants: Set<string>;
  /** `role|schema.table|column|PRIV`. */
  columnGrants: Set<string>;
  /** `role|schema.sequence|PRIV`. */
  sequenceGrants: Set<string>;
  /** `role|schema.name(identity arguments)|PRIV`. */
  functionGrants: Set<string>;
  /** Declared function signature -> its catalog form `schema.name(identity arguments)`. */
  functionNames: Map<string, string>;
  /** `role|creator|schema|TABLES/SEQUENCES/FUNCTIONS|PRIV`. */
  defaultGrants: Set<string>;
  /** `TABLES:schema.table` (or SEQUENCES:, FUNCTIONS:) -> owner, for objects granted to managed roles. */
  owners: Map<string, string>;
  /** schema.table -> RLS flags, for declared tables. */
  rowSecurity: Map<string, { enabled: boolean; forced: boolean }>;
  /** `schema.table|policy` -> the declared hash stored in the policy's comment. */
  policies: Map<string, string>;
}

export interface PlanStep {
  sql: string;
  /** The SQL as shown in status, logs and plans, when it carries a secret (a password). */
  shown?: string;
  /**
   * `role`: runs as the connecting role: roles and memberships (cluster-wide), and revokes,
   * which only take away what managed roles hold, named from the catalog, so they converge
   * whoever granted. `object`: grants, row security, policies and default privileges, run as
   * the declaration's steward when there is one.
   */
  scope: 'role' | 'object';
  /** Drops a role or anything that can lose data or break others: refused unless allowed. */
  destructive?: boolean;
  reason: string;
}

// The declaration: who exists, what they may do on which objects, and which rows they see.

export const TablePrivileges = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;
export type TablePrivilege = (typeof TablePrivileges)[number];
export const ColumnPrivileges = ['SELECT', 'INSERT', 'UPDATE', 'REFERENCES'] as const;
export type ColumnPrivilege = (typeof ColumnPrivileges)[number];
export const SchemaPrivileges = ['USAGE', 'CREATE'] as const;
export type SchemaPrivilege = (typeof SchemaPrivileges)[number];

export interface RoleDecl {
  name: string;
  /** A login role; its password is set on creation (and whenever `password` is given). */
  login?: boolean;
  password?: string;
  /** Group roles this role is a member of. */
  memberOf?: string[];
}

export interface Declaration {
  roles: RoleDecl[];
  schemas?: { role: string; schema: string; privileges: SchemaPrivilege[] }[];
  /** `table` is `schema.table`. With `columns`, the privileges apply to those columns only. */
  tables?: { role: string; table: string; privileges: (TablePrivilege | ColumnPrivilege)[]; columns?: string[] }[];
  rowSecurity?: { table: string; enabled: boolean; forced?: boolean }[];
  policies?: {
    table: string;
    name: string;
    command?: 'ALL' | 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';
    roles: string[];
    using?: string;
    withCheck?: string;
  }[];
}

/** The catalog, as far as the managed roles and declared tables are concerned. */
export interface CatalogState {
  /** Managed roles that exist, with their attributes. */
  roles: Map<string, { login: boolean; ownsObjects: boolean }>;
  /** `member>group` for memberships of managed roles. */
  memberships: Set<string>;
  /** `role|schema|PRIV`. */
  schemaGrants: Set<string>;
  /** `role|schema.table|PRIV`. */
  tableGrants: Set<string>;
  /** `role|schema.table|column|PRIV`. */
  columnGrants: Set<string>;
  /** schema.table -> RLS flags, for declared tables. */
  rowSecurity: Map<string, { enabled: boolean; forced: boolean }>;
  /** `schema.table|policy` -> the declared hash stored in the policy's comment. */
  policies: Map<string, string>;
}

export interface PlanStep {
  sql: string;
  /** Drops a role or anything that can lose data or break others: refused unless allowed. */
  destructive?: boolean;
  reason: string;
}

// Reading the catalog for the managed scope: roles marked as managed by this declaration
// (their comment), their memberships and privileges on the database, schemas, tables, columns,
// sequences, functions and default privileges, and the declared tables' RLS and policies.
// An owner's own privileges on its objects are implied by ownership, never declared, so they
// are not read as grants (and never planned away).
import type pg from 'pg';
import type { CatalogState, Declaration } from './types.ts';

export const MANAGED_PREFIX = 'managed by plinth:';
/** Comment prefix of a policy this planner made: `plinth:<owner>:<hash of its declaration>`. */
export const POLICY_PREFIX = 'plinth:';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Tables whose RLS flags and policies the declaration speaks about. */
export const declaredTables = (d: Declaration): string[] => [
  ...new Set([...(d.rowSecurity ?? []).map((r) => r.table), ...(d.policies ?? []).map((p) => p.table)]),
];

/** `pg_default_acl.defaclobjtype` for each kind of object default privileges cover. */
const DEFAULT_OBJTYPE = { r: 'TABLES', S: 'SEQUENCES', f: 'FUNCTIONS' } as const;

/** The catalog form of a function: `schema.name(identity arguments)`. */
const FUNCTION_TEXT = `n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'`;

/** A database's catalog with nothing in it yet: the state readCatalog fills in, and tests start from. */
export function emptyCatalog(database: string, currentUser: string): CatalogState {
  return {
    database,
    currentUser,
    roles: new Map(),
    foreignRoles: new Map(),
    memberships: new Set(),
    stewardOf: new Set(),
    databaseGrants: new Set(),
    schemaGrants: new Set(),
    tableGrants: new Set(),
    columnGrants: new Set(),
    sequenceGrants: new Set(),
    functionGrants: new Set(),
    functionNames: new Map(),
    defaultGrants: new Set(),
    owners: new Map(),
    rowSecurity: new Map(),
    policies: new Map(),
  };
}

export async function readCatalog(db: Queryable, owner: string, decl: Declaration): Promise<CatalogState> {
  const tables = declaredTables(decl);
  const where = (
    await db.query<{ database: string; current_user: string }>('select current_database() as database, current_user')
  ).rows[0];
  const managed = (
    await db.query<{ rolname: string; login: boolean; inherit: boolean; owns: boolean }>(
      `select r.rolname, r.rolcanlogin as login, r.rolinherit as inherit,
              exists (select 1 from pg_shdepend s where s.refclassid = 'pg_authid'::regclass
                         and s.refobjid = r.oid and s.deptype = 'o') as owns
         from pg_roles r
        where shobj_description(r.oid, 'pg_authid') = $1`,
      [`${MANAGED_PREFIX}${owner}`],
    )
  ).rows;
  const names = managed.map((r) => r.rolname);
  // Declared roles that exist but are not this declaration's: someone else's.
  const foreign = (
    await db.query<{ rolname: string; comment: string | null }>(
      `select rolname, shobj_description(oid, 'pg_authid') as comment from pg_roles
        where rolname = any($1) and not (rolname = any($2))`,
      [decl.roles.map((r) => r.name), names],
    )
  ).rows;
  const state: CatalogState = {
    ...emptyCatalog(where?.database ?? '', where?.current_user ?? ''),
    roles: new Map(managed.map((r) => [r.rolname, { login: r.login, inherit: r.inherit, ownsObjects: r.owns }])),
    foreignRoles: new Map(
      foreign.map((r) => [
        r.rolname,
        r.comment?.startsWith(MANAGED_PREFIX) ? r.comment.slice(MANAGED_PREFIX.length) : undefined,
      ]),
    ),
  };

  // Declared functions in their catalog form; a missing one is a declaration error.
  for (const f of new Set((decl.functions ?? []).map((x) => x.function))) {
    try {
      const row = (
        await db.query<{ name: string }>(
          `select ${FUNCTION_TEXT} as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where p.oid = $1::regprocedure`,
          [f],
        )
      ).rows[0];
      if (row) state.functionNames.set(f, row.name);
    } catch (e) {
      throw new Error(`functions: ${f}: ${(e as Error).message} (write it as schema.name(argument types))`);
    }
  }
  /** Adds `key(row)` to `set` for each row of an ACL query over the managed roles. */
  const collect = async <R extends pg.QueryResultRow>(set: Set<string>, sql: string, key: (r: R) => string) => {
    for (const r of (await db.query<R>(sql, [names])).rows) set.add(key(r));
  };
  type Grant = { role: string; obj: string; priv: string; owner?: string };
  const grantKey = (r: Grant) => `${r.role}|${r.obj}|${r.priv}`;
  /** Grant keys that also note the object's owner (default privileges are per creator). */
  const owned = (objects: string) => (r: Grant) => {
    state.owners.set(`${objects}:${r.obj}`, r.owner ?? '');
    return grantKey(r);
  };
  const grantee = 'pg_get_userbyid(a.grantee)';
  if (names.length) {
    await collect<{ member: string; grp: string }>(
      state.memberships,
      `select m.rolname as member, g.rolname as grp from pg_auth_members am
         join pg_roles m on m.oid = am.member join pg_roles g on g.oid = am.roleid
        where m.rolname = any($1)`,
      (r) => `${r.member}>${r.grp}`,
    );
    if (decl.steward) {
      for (const r of (
        await db.query<{ grp: string }>(
          `select g.rolname as grp from pg_auth_members am
             join pg_roles m on m.oid = am.member join pg_roles g on g.oid = am.roleid
            where m.rolname = $1 and g.rolname = any($2)`,
          [decl.steward, names],
        )
      ).rows)
        state.stewardOf.add(r.grp);
    }
    await collect<{ role: string; priv: string }>(
      state.databaseGrants,
      `select ${grantee} as role, a.privilege_type as priv from pg_database d, aclexplode(d.datacl) a
        where d.datname = current_database() and a.grantee <> d.datdba and ${grantee} = any($1)`,
      (r) => `${r.role}|${r.priv}`,
    );
    await collect<Grant>(
      state.schemaGrants,
      `select ${grantee} as role, n.nspname as obj, a.privilege_type as priv
         from pg_namespace n, aclexplode(n.nspacl) a where a.grantee <> n.nspowner and ${grantee} = any($1)`,
      grantKey,
    );
    const relation = `select ${grantee} as role, n.nspname || '.' || c.relname as obj, a.privilege_type as priv,
              pg_get_userbyid(c.relowner) as owner
         from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) a
        where a.grantee <> c.relowner and ${grantee} = any($1) and c.relkind`;
    await collect<Grant>(state.tableGrants, `${relation} in ('r', 'p', 'v', 'm', 'f')`, owned('TABLES'));
    await collect<Grant>(state.sequenceGrants, `${relation} = 'S'`, owned('SEQUENCES'));
    await collect<Grant & { col: string }>(
      state.columnGrants,
      `select ${grantee} as role, n.nspname || '.' || c.relname as obj, att.attname as col, a.privilege_type as priv
         from pg_attribute att join pg_class c on c.oid = att.attrelid join pg_namespace n on n.oid = c.relnamespace,
              aclexplode(att.attacl) a
        where att.attnum > 0 and not att.attisdropped and a.grantee <> c.relowner and ${grantee} = any($1)`,
      (r) => `${r.role}|${r.obj}|${r.col}|${r.priv}`,
    );
    await collect<Grant>(
      state.functionGrants,
      `select ${grantee} as role, ${FUNCTION_TEXT} as obj, a.privilege_type as priv, pg_get_userbyid(p.proowner) as owner
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace, aclexplode(p.proacl) a
        where a.grantee <> p.proowner and ${grantee} = any($1)`,
      owned('FUNCTIONS'),
    );
    await collect<{
      role: string;
      creator: string;
      schema: string;
      objtype: keyof typeof DEFAULT_OBJTYPE;
      priv: string;
    }>(
      state.defaultGrants,
      `select ${grantee} as role, pg_get_userbyid(d.defaclrole) as creator, n.nspname as schema,
              d.defaclobjtype as objtype, a.privilege_type as priv
         from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
        where d.defaclobjtype in ('r', 'S', 'f') and ${grantee} = any($1)`,
      (r) => `${r.role}|${r.creator}|${r.schema}|${DEFAULT_OBJTYPE[r.objtype]}|${r.priv}`,
    );
  }
  if (tables.length) {
    for (const r of (
      await db.query<{ tbl: string; enabled: boolean; forced: boolean }>(
        `select n.nspname || '.' || c.relname as tbl, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname || '.' || c.relname = any($1)`,
        [tables],
      )
    ).rows)
      state.rowSecurity.set(r.tbl, { enabled: r.enabled, forced: r.forced });
  }
  // Policies on declared tables (to detect clashes), and every policy this owner manages
  // wherever it is (so an undeclared one is dropped even when its table is no longer named).
  for (const r of (
    await db.query<{ tbl: string; name: string; comment: string | null }>(
      `select n.nspname || '.' || c.relname as tbl, p.polname as name, obj_description(p.oid, 'pg_policy') as comment
         from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname || '.' || c.relname = any($1) or obj_description(p.oid, 'pg_policy') like $2`,
      [tables, `${POLICY_PREFIX}${owner.replace(/[\\%_]/g, '\\$&')}:%`],
    )
  ).rows)
    state.policies.set(`${r.tbl}|${r.name}`, r.comment ?? '');
  return state;
}

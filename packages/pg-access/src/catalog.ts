// Reading the catalog for the managed scope: roles marked as managed by this declaration
// (their comment), their memberships and privileges, and the declared tables' RLS and policies.
import type pg from 'pg';
import type { CatalogState } from './types.ts';

export const MANAGED_PREFIX = 'managed by plinth:';
/** Comment prefix of a policy this planner made: `plinth:<owner>:<hash of its declaration>`. */
export const POLICY_PREFIX = 'plinth:';

type Queryable = Pick<pg.ClientBase, 'query'>;

export async function readCatalog(db: Queryable, owner: string, declaredTables: string[]): Promise<CatalogState> {
  const managed = (
    await db.query<{ rolname: string; login: boolean; owns: boolean }>(
      `select r.rolname, r.rolcanlogin as login,
              exists (select 1 from pg_class c where c.relowner = r.oid) as owns
         from pg_roles r
        where shobj_description(r.oid, 'pg_authid') = $1`,
      [`${MANAGED_PREFIX}${owner}`],
    )
  ).rows;
  const names = managed.map((r) => r.rolname);
  const state: CatalogState = {
    roles: new Map(managed.map((r) => [r.rolname, { login: r.login, ownsObjects: r.owns }])),
    memberships: new Set(),
    schemaGrants: new Set(),
    tableGrants: new Set(),
    columnGrants: new Set(),
    rowSecurity: new Map(),
    policies: new Map(),
  };
  if (names.length) {
    for (const r of (
      await db.query<{ member: string; grp: string }>(
        `select m.rolname as member, g.rolname as grp from pg_auth_members am
           join pg_roles m on m.oid = am.member join pg_roles g on g.oid = am.roleid
          where m.rolname = any($1)`,
        [names],
      )
    ).rows)
      state.memberships.add(`${r.member}>${r.grp}`);
    for (const r of (
      await db.query<{ role: string; schema: string; priv: string }>(
        `select pg_get_userbyid(a.grantee) as role, n.nspname as schema, a.privilege_type as priv
           from pg_namespace n, aclexplode(n.nspacl) a
          where pg_get_userbyid(a.grantee) = any($1)`,
        [names],
      )
    ).rows)
      state.schemaGrants.add(`${r.role}|${r.schema}|${r.priv}`);
    for (const r of (
      await db.query<{ role: string; tbl: string; priv: string }>(
        `select pg_get_userbyid(a.grantee) as role, n.nspname || '.' || c.relname as tbl, a.privilege_type as priv
           from pg_class c join pg_namespace n on n.oid = c.relnamespace, aclexplode(c.relacl) a
          where c.relkind in ('r', 'p', 'v', 'm', 'f') and pg_get_userbyid(a.grantee) = any($1)`,
        [names],
      )
    ).rows)
      state.tableGrants.add(`${r.role}|${r.tbl}|${r.priv}`);
    for (const r of (
      await db.query<{ role: string; tbl: string; col: string; priv: string }>(
        `select pg_get_userbyid(a.grantee) as role, n.nspname || '.' || c.relname as tbl, att.attname as col, a.privilege_type as priv
           from pg_attribute att join pg_class c on c.oid = att.attrelid join pg_namespace n on n.oid = c.relnamespace,
                aclexplode(att.attacl) a
          where att.attnum > 0 and not att.attisdropped and pg_get_userbyid(a.grantee) = any($1)`,
        [names],
      )
    ).rows)
      state.columnGrants.add(`${r.role}|${r.tbl}|${r.col}|${r.priv}`);
  }
  if (declaredTables.length) {
    for (const r of (
      await db.query<{ tbl: string; enabled: boolean; forced: boolean }>(
        `select n.nspname || '.' || c.relname as tbl, c.relrowsecurity as enabled, c.relforcerowsecurity as forced
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname || '.' || c.relname = any($1)`,
        [declaredTables],
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
      [declaredTables, `${POLICY_PREFIX}${owner.replace(/[\\%_]/g, '\\$&')}:%`],
    )
  ).rows)
    state.policies.set(`${r.tbl}|${r.name}`, r.comment ?? '');
  return state;
}

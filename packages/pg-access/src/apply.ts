// Applying a plan: every step in one transaction, or none. The declaration is checked first
// (check.ts); each step is sent through the extended query protocol, which PostgreSQL refuses
// to run as more than one statement; object steps run as the declaration's steward, so a
// grant, policy or RLS change can only touch objects the declared roles own. A plan with
// destructive steps is refused unless the caller allows it, with the steps named.
import type pg from 'pg';
import { readCatalog } from './catalog.ts';
import { type CheckOptions, checkDeclaration, DeclarationError } from './check.ts';
import { plan } from './plan.ts';
import type { Declaration, PlanStep } from './types.ts';

export class DestructivePlanError extends Error {
  readonly steps: PlanStep[];
  constructor(steps: PlanStep[]) {
    super(
      `the plan is destructive and was not applied; allow destructive changes to proceed:\n${steps.map((s) => `  - ${shownSql(s)} (${s.reason})`).join('\n')}`,
    );
    this.name = 'DestructivePlanError';
    this.steps = steps;
  }
}

/** A step's SQL as it may be shown: secrets masked. */
export const shownSql = (s: PlanStep): string => s.shown ?? s.sql;

type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Names in the planner's SQL resolve in pg_catalog only: a tenant who may create functions or
 * operators in a schema on the search path (public, or one named after the connecting role)
 * would otherwise have them run by the connecting role, a superuser.
 */
export const SAFE_SEARCH_PATH = 'SET LOCAL search_path TO pg_catalog, pg_temp';

/** One statement through the extended protocol (pg's queryMode; its types do not list it). */
export const runOne = (db: Queryable, sql: string) =>
  db.query({ text: sql, queryMode: 'extended' } as pg.QueryConfig & { queryMode: 'extended' });

/**
 * Grantable roles the declaration joins must be plain roles: no superuser, no role that can
 * create roles or databases, replicate or bypass row security, none of PostgreSQL's own.
 */
async function checkGrantable(db: Queryable, decl: Declaration): Promise<void> {
  const declared = new Set(decl.roles.map((r) => r.name));
  const outside = [...new Set(decl.roles.flatMap((r) => r.memberOf ?? []).filter((g) => !declared.has(g)))];
  if (!outside.length) return;
  // A role is plain when neither it nor any role it belongs to, however deep, is privileged.
  const { rows } = await db.query<{ rolname: string }>(
    `with recursive up(start, oid) as (
       select r.rolname, r.oid from pg_roles r where r.rolname = any($1)
       union
       select up.start, am.roleid from pg_auth_members am join up on am.member = up.oid)
     select up.start as rolname from up join pg_roles r on r.oid = up.oid
      group by up.start
     having not bool_or(r.rolsuper or r.rolcreaterole or r.rolcreatedb or r.rolreplication or r.rolbypassrls
                        or r.rolname like 'pg\\_%')`,
    [outside],
  );
  const plain = new Set(rows.map((r) => r.rolname));
  const refused = outside.filter((g) => !plain.has(g));
  if (refused.length) {
    throw new DeclarationError(
      refused.map((g) => `memberOf: ${g} does not exist or is a privileged role (superuser, CREATEROLE, pg_*)`),
    );
  }
}

/** Inside an open transaction: names pinned to pg_catalog, memberships checked, then the plan. */
async function planInTransaction(client: pg.ClientBase, decl: Declaration, owner: string): Promise<PlanStep[]> {
  await client.query(SAFE_SEARCH_PATH);
  await checkGrantable(client, decl);
  return plan(decl, await readCatalog(client, owner, decl), owner);
}

/** Plans against the live catalog (read-only). */
export async function planFor(
  client: pg.ClientBase,
  decl: Declaration,
  owner: string,
  opts: CheckOptions = {},
): Promise<PlanStep[]> {
  await checkDeclaration(decl, opts);
  await client.query('BEGIN READ ONLY');
  try {
    return await planInTransaction(client, decl, owner);
  } finally {
    await client.query('ROLLBACK');
  }
}

/**
 * Reads, plans and applies in one transaction (the catalog is read inside it, so the plan is
 * made against what it changes). Returns the steps applied.
 */
export async function applyDeclaration(
  client: pg.ClientBase,
  decl: Declaration,
  owner: string,
  opts: { allowDestructive?: boolean } & CheckOptions = {},
): Promise<PlanStep[]> {
  await checkDeclaration(decl, opts);
  await client.query('BEGIN');
  try {
    const steps = await planInTransaction(client, decl, owner);
    const destructive = steps.filter((s) => s.destructive);
    if (destructive.length && !opts.allowDestructive) throw new DestructivePlanError(destructive);
    let asSteward = false;
    for (const s of steps) {
      const steward = decl.steward !== undefined && s.scope === 'object';
      if (steward !== asSteward) {
        await client.query(steward ? `SET LOCAL ROLE ${client.escapeIdentifier(decl.steward ?? '')}` : 'RESET ROLE');
        asSteward = steward;
      }
      await runOne(client, s.sql);
    }
    await client.query('COMMIT');
    return steps;
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

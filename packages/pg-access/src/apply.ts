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
  const { rows } = await db.query<{ rolname: string }>(
    `select rolname from pg_roles where rolname = any($1)
        and not (rolsuper or rolcreaterole or rolcreatedb or rolreplication or rolbypassrls or rolname like 'pg\\_%')`,
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

/** Plans against the live catalog (read-only). */
export async function planFor(
  client: pg.ClientBase,
  decl: Declaration,
  owner: string,
  opts: CheckOptions = {},
): Promise<PlanStep[]> {
  await checkDeclaration(decl, opts);
  await checkGrantable(client, decl);
  return plan(decl, await readCatalog(client, owner, decl), owner);
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
    await checkGrantable(client, decl);
    const steps = plan(decl, await readCatalog(client, owner, decl), owner);
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

// Applying a plan: every step in one transaction, or none. A plan with destructive steps is
// refused unless the caller allows it, with the steps named.
import type pg from 'pg';
import { readCatalog } from './catalog.ts';
import { plan } from './plan.ts';
import type { Declaration, PlanStep } from './types.ts';

export class DestructivePlanError extends Error {
  readonly steps: PlanStep[];
  constructor(steps: PlanStep[]) {
    super(
      `the plan is destructive and was not applied; allow destructive changes to proceed:\n${steps.map((s) => `  - ${s.sql} (${s.reason})`).join('\n')}`,
    );
    this.name = 'DestructivePlanError';
    this.steps = steps;
  }
}

/** Plans against the live catalog (read-only). */
export async function planFor(client: pg.ClientBase, decl: Declaration, owner: string): Promise<PlanStep[]> {
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
  opts: { allowDestructive?: boolean } = {},
): Promise<PlanStep[]> {
  await client.query('BEGIN');
  try {
    const steps = plan(decl, await readCatalog(client, owner, decl), owner);
    const destructive = steps.filter((s) => s.destructive);
    if (destructive.length && !opts.allowDestructive) throw new DestructivePlanError(destructive);
    for (const s of steps) await client.query(s.sql);
    await client.query('COMMIT');
    return steps;
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  }
}

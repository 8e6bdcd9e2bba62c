// What a declaration may ask for, checked before anything is planned. A declaration comes
// from a tenant, so every name it references and every SQL fragment it carries is untrusted:
// policy expressions are parsed by PostgreSQL's own parser (libpg_query) and accepted only
// as one expression; memberships and role references stay inside the roles the declaration
// manages, plus roles the platform lists as grantable.
import { loadModule, parseSync } from 'libpg-query';
import type { Declaration } from './types.ts';

/** Roles a declaration may not create or join: PostgreSQL's predefined roles and Plinth's own. */
const RESERVED = /^(pg_|plinth_)/;

export class DeclarationError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`the declaration is not allowed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DeclarationError';
    this.problems = problems;
  }
}

let loaded: Promise<void> | undefined;

/**
 * A tenant's expression as it is embedded in SQL: in parentheses, the closing one on a line of
 * its own so a trailing `--` comment cannot swallow it. The check parses exactly this text.
 */
export const embedExpression = (text: string): string => `(${text}\n)`;

/**
 * Why `text` is not exactly one SQL expression, or undefined when it is. It is parsed as the
 * target of `SELECT (...)`: anything that closes the parenthesis early shows up as more than
 * one statement, more than one target, or a clause around the target.
 */
export async function expressionProblem(text: string): Promise<string | undefined> {
  loaded ??= loadModule();
  await loaded;
  let tree: { stmts?: { stmt?: Record<string, unknown> }[] };
  try {
    tree = parseSync(`SELECT ${embedExpression(text)}`);
  } catch (e) {
    return `is not a valid SQL expression: ${(e as Error).message}`;
  }
  const stmts = tree.stmts ?? [];
  if (stmts.length !== 1) return `must be one SQL expression, but it makes ${stmts.length} statements`;
  const select = stmts[0]?.stmt?.SelectStmt as Record<string, unknown> | undefined;
  const clauses = Object.keys(select ?? {}).filter((k) => !['targetList', 'limitOption', 'op'].includes(k));
  const targets = (select?.targetList as unknown[] | undefined) ?? [];
  if (!select || clauses.length || targets.length !== 1 || select.op !== 'SETOP_NONE') {
    return 'must be one SQL expression (it closes its parenthesis and adds to the statement)';
  }
  return undefined;
}

export interface CheckOptions {
  /** Roles outside the declaration that its roles may join (the platform's list). */
  grantable?: readonly string[];
}

/** Every problem with `decl`, each naming its field; an empty list means it may be planned. */
export async function declarationProblems(decl: Declaration, opts: CheckOptions = {}): Promise<string[]> {
  const problems: string[] = [];
  const declared = new Set(decl.roles.map((r) => r.name));
  const grantable = new Set(opts.grantable ?? []);
  decl.roles.forEach((r, i) => {
    if (RESERVED.test(r.name)) problems.push(`roles[${i}].name: ${r.name} is reserved (pg_* and plinth_* roles)`);
    (r.memberOf ?? []).forEach((g, j) => {
      if (g === r.name) problems.push(`roles[${i}].memberOf[${j}]: a role cannot be a member of itself`);
      else if (!declared.has(g) && !grantable.has(g)) {
        problems.push(
          `roles[${i}].memberOf[${j}]: ${g} is not a role of this Database${grantable.size ? ` nor one the platform allows (${[...grantable].join(', ')})` : ''}; roles may only join roles declared here`,
        );
      }
    });
  });
  const refs = (field: string, list: { role: string }[] | undefined) =>
    (list ?? []).forEach((x, i) => {
      if (!declared.has(x.role)) problems.push(`${field}[${i}].role: ${x.role} is not a role of this Database`);
    });
  refs('databasePrivileges', decl.database);
  refs('schemaPrivileges', decl.schemas);
  refs('tablePrivileges', decl.tables);
  refs('sequencePrivileges', decl.sequences);
  refs('functionPrivileges', decl.functions);
  refs('defaultPrivileges', decl.defaultPrivileges);
  (decl.defaultPrivileges ?? []).forEach((d, i) => {
    if (d.creator !== undefined && !declared.has(d.creator)) {
      problems.push(`defaultPrivileges[${i}].creator: ${d.creator} is not a role of this Database`);
    }
  });
  for (const [i, p] of (decl.policies ?? []).entries()) {
    p.roles.forEach((role, j) => {
      if (!declared.has(role)) problems.push(`policies[${i}].roles[${j}]: ${role} is not a role of this Database`);
    });
    for (const field of ['using', 'withCheck'] as const) {
      const text = p[field];
      if (text === undefined) continue;
      const problem = await expressionProblem(text);
      if (problem) problems.push(`policies[${i}].${field}: ${problem}`);
    }
  }
  return problems;
}

/** Throws a DeclarationError naming every problem with `decl`. */
export async function checkDeclaration(decl: Declaration, opts: CheckOptions = {}): Promise<void> {
  const problems = await declarationProblems(decl, opts);
  if (problems.length) throw new DeclarationError(problems);
}

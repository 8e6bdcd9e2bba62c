// The planner: a pure function of the declaration and the catalog state. Steps are ordered so
// every statement's prerequisites exist: roles, then grants, then revokes, then row security
// and policies, then membership removals, and role drops last. It never drops a table,
// column or data; it only revokes within the managed roles' privileges.
import { createHash } from 'node:crypto';
import type { DefaultPrivilegeObject } from '@plinth/api';
import pg from 'pg';
import { MANAGED_PREFIX, POLICY_PREFIX } from './catalog.ts';
import { DeclarationError, embedExpression } from './check.ts';
import type { CatalogState, Declaration, PlanStep } from './types.ts';

const id = (name: string) => pg.escapeIdentifier(name);
/** `schema.table` -> `"schema"."table"`. */
export function qualified(table: string): string {
  const dot = table.indexOf('.');
  if (dot < 0) throw new Error(`table "${table}" must be schema-qualified (schema.table)`);
  return `${id(table.slice(0, dot))}.${id(table.slice(dot + 1))}`;
}

/** `schema.name(args)` (catalog form) -> `"schema"."name"(args)`. */
function routine(signature: string): string {
  const open = signature.indexOf('(');
  return `${qualified(signature.slice(0, open))}${signature.slice(open)}`;
}

export function policyHash(p: NonNullable<Declaration['policies']>[number]): string {
  const canonical = JSON.stringify([p.command ?? 'ALL', [...p.roles].sort(), p.using ?? null, p.withCheck ?? null]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function plan(decl: Declaration, state: CatalogState, owner: string): PlanStep[] {
  const taken = [...state.foreignRoles].map(([name, holder]) =>
    holder
      ? `roles: ${name} belongs to Database ${holder}; choose another name`
      : `roles: ${name} exists and is not managed by Plinth; choose another name`,
  );
  if (taken.length) throw new DeclarationError(taken);
  const steps: PlanStep[] = [];
  const declared = new Set(decl.roles.map((r) => r.name));
  const marker = `${MANAGED_PREFIX}${owner}`;

  // 1. Roles.
  for (const r of decl.roles) {
    const current = state.roles.get(r.name);
    const inherit = r.inherit ?? true;
    const login = (password: string | undefined) =>
      r.login ? `LOGIN${password !== undefined ? ` PASSWORD ${password}` : ''}` : 'NOLOGIN';
    if (!current) {
      const create = (password: string | undefined) =>
        `CREATE ROLE ${id(r.name)} ${login(password)}${inherit ? '' : ' NOINHERIT'}`;
      const secret = r.login && r.password !== undefined;
      steps.push({
        sql: create(secret ? pg.escapeLiteral(r.password ?? '') : undefined),
        ...(secret ? { shown: create("'***'") } : {}),
        scope: 'role',
        reason: `role ${r.name} is declared`,
      });
      steps.push({
        sql: `COMMENT ON ROLE ${id(r.name)} IS ${pg.escapeLiteral(marker)}`,
        scope: 'role',
        reason: `mark ${r.name} as managed`,
      });
    } else {
      if (current.login !== !!r.login) {
        steps.push({
          sql: `ALTER ROLE ${id(r.name)} ${r.login ? 'LOGIN' : 'NOLOGIN'}`,
          scope: 'role',
          reason: `role ${r.name} login changed`,
        });
      }
      if (current.inherit !== inherit) {
        steps.push({
          sql: `ALTER ROLE ${id(r.name)} ${inherit ? 'INHERIT' : 'NOINHERIT'}`,
          scope: 'role',
          reason: `role ${r.name} inherit changed`,
        });
      }
    }
    if (decl.steward && !state.stewardOf.has(r.name)) {
      steps.push({
        sql: `GRANT ${id(r.name)} TO ${id(decl.steward)}`,
        scope: 'role',
        reason: `the steward ${decl.steward} acts for ${r.name}'s objects`,
      });
    }
  }

  // 2. Memberships to add.
  const wantMembers = new Set(decl.roles.flatMap((r) => (r.memberOf ?? []).map((g) => `${r.name}>${g}`)));
  for (const m of wantMembers) {
    if (state.memberships.has(m)) continue;
    const [member, group] = m.split('>') as [string, string];
    steps.push({
      sql: `GRANT ${id(group)} TO ${id(member)}`,
      scope: 'role',
      reason: `${member} is declared a member of ${group}`,
    });
  }

  // 3. Grants, then 4. revokes, within the managed roles. Each family is a set of
  // `role|object|...|PRIV` keys and how one key reads as `GRANT ...` / `REVOKE ...`.
  const priv = (p: string) => (p === 'TEMP' ? 'TEMPORARY' : p);
  const keys = <T extends { role: string; privileges: readonly string[] }>(
    list: T[] | undefined,
    parts: (x: T) => string[],
  ) => new Set((list ?? []).flatMap((x) => x.privileges.map((p) => [x.role, ...parts(x), priv(p)].join('|'))));
  const fn = (name: string) => {
    const canonical = state.functionNames.get(name);
    if (!canonical) throw new Error(`functions: ${name} does not exist`);
    return canonical;
  };
  const tables = decl.tables ?? [];
  /** The role applying object steps: it creates objects and owns default privileges by default. */
  const applier = decl.steward ?? state.currentUser;
  type Family = {
    what: string;
    want: Set<string>;
    have: Set<string>;
    render: (k: string[], grant: boolean) => string;
    /** Objects that declared default privileges reach: their grants are kept, not revoked. */
    objects?: DefaultPrivilegeObject;
  };
  /** Was `role|object|PRIV` granted by a declared default privilege (same creator, schema, privilege)? */
  const byDefault = (objects: DefaultPrivilegeObject, key: string) => {
    const [role, obj = '', p] = key.split('|');
    const owner = state.owners.get(`${objects}:${obj}`);
    const schema = obj.slice(0, obj.indexOf('.'));
    return (decl.defaultPrivileges ?? []).some(
      (d) =>
        d.role === role &&
        d.objects === objects &&
        d.schema === schema &&
        (d.creator ?? applier) === owner &&
        d.privileges.map(priv).includes(p ?? ''),
    );
  };
  const simple = (on: (k: string[]) => string) => (k: string[], grant: boolean) =>
    `${grant ? 'GRANT' : 'REVOKE'} ${k.at(-1)} ON ${on(k)} ${grant ? 'TO' : 'FROM'} ${id(k[0] ?? '')}`;
  const families: Family[] = [
    {
      what: 'database privilege',
      want: keys(decl.database, () => []),
      have: state.databaseGrants,
      render: simple(() => `DATABASE ${id(state.database)}`),
    },
    {
      what: 'schema privilege',
      want: keys(decl.schemas, (s) => [s.schema]),
      have: state.schemaGrants,
      render: simple((k) => `SCHEMA ${id(k[1] ?? '')}`),
    },
    {
      what: 'table privilege',
      want: keys(
        tables.filter((t) => !t.columns?.length),
        (t) => [t.table],
      ),
      have: state.tableGrants,
      render: simple((k) => `TABLE ${qualified(k[1] ?? '')}`),
      objects: 'TABLES',
    },
    {
      what: 'column privilege',
      want: new Set(
        tables.flatMap((t) =>
          (t.columns ?? []).flatMap((c) => t.privileges.map((p) => `${t.role}|${t.table}|${c}|${p}`)),
        ),
      ),
      have: state.columnGrants,
      render: (k, grant) =>
        `${grant ? 'GRANT' : 'REVOKE'} ${k[3]} (${id(k[2] ?? '')}) ON TABLE ${qualified(k[1] ?? '')} ${grant ? 'TO' : 'FROM'} ${id(k[0] ?? '')}`,
    },
    {
      what: 'sequence privilege',
      want: keys(decl.sequences, (s) => [s.sequence]),
      have: state.sequenceGrants,
      render: simple((k) => `SEQUENCE ${qualified(k[1] ?? '')}`),
      objects: 'SEQUENCES',
    },
    {
      what: 'function privilege',
      want: keys(decl.functions, (f) => [fn(f.function)]),
      have: state.functionGrants,
      render: simple((k) => `ROUTINE ${routine(k[1] ?? '')}`),
      objects: 'FUNCTIONS',
    },
    {
      what: 'default privilege',
      want: keys(decl.defaultPrivileges, (d) => [d.creator ?? applier, d.schema, d.objects]),
      have: state.defaultGrants,
      render: ([role, creator, schema, objects, p], grant) =>
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${id(creator ?? '')} IN SCHEMA ${id(schema ?? '')} ${grant ? 'GRANT' : 'REVOKE'} ${p} ON ${objects} ${grant ? 'TO' : 'FROM'} ${id(role ?? '')}`,
    },
  ];
  for (const f of families)
    for (const g of [...f.want].sort())
      if (!f.have.has(g))
        steps.push({ sql: f.render(g.split('|'), true), scope: 'object', reason: `${f.what} ${g} is declared` });
  for (const f of [...families].reverse())
    for (const g of [...f.have].sort())
      if (!f.want.has(g) && !(f.objects && byDefault(f.objects, g)))
        steps.push({ sql: f.render(g.split('|'), false), scope: 'role', reason: `${f.what} ${g} is not declared` });

  // 5. Row-level security.
  for (const r of decl.rowSecurity ?? []) {
    const current = state.rowSecurity.get(r.table);
    if (!current) throw new Error(`rowSecurity: table ${r.table} does not exist`);
    if (current.enabled !== r.enabled) {
      steps.push({
        sql: `ALTER TABLE ${qualified(r.table)} ${r.enabled ? 'ENABLE' : 'DISABLE'} ROW LEVEL SECURITY`,
        scope: 'object',
        reason: `RLS on ${r.table}`,
      });
    }
    if (current.forced !== !!r.forced) {
      steps.push({
        sql: `ALTER TABLE ${qualified(r.table)} ${r.forced ? 'FORCE' : 'NO FORCE'} ROW LEVEL SECURITY`,
        scope: 'object',
        reason: `forced RLS on ${r.table}`,
      });
    }
  }

  // 6. Policies: created, or dropped and recreated when the declaration changed; policies this
  // declaration made and no longer declares are dropped; anyone else's are left alone.
  const policyMarker = `${POLICY_PREFIX}${owner}:`;
  const wantPolicies = new Map((decl.policies ?? []).map((p) => [`${p.table}|${p.name}`, p]));
  for (const [key, comment] of [...state.policies].sort()) {
    const p = wantPolicies.get(key);
    if (!comment.startsWith(policyMarker)) continue;
    if (!p || comment !== `${policyMarker}${policyHash(p)}`) {
      const [table, name] = key.split('|') as [string, string];
      steps.push({
        sql: `DROP POLICY ${id(name)} ON ${qualified(table)}`,
        scope: 'object',
        reason: p ? `policy ${key} changed` : `policy ${key} is not declared`,
      });
    }
  }
  for (const [key, p] of wantPolicies) {
    const existing = state.policies.get(key);
    if (existing === `${policyMarker}${policyHash(p)}`) continue;
    if (existing !== undefined && !existing.startsWith(policyMarker)) {
      throw new Error(
        `policy ${key} exists and is not managed by ${owner}: rename the declared policy or drop the existing one`,
      );
    }
    const parts = [
      `CREATE POLICY ${id(p.name)} ON ${qualified(p.table)}`,
      `FOR ${p.command ?? 'ALL'}`,
      `TO ${p.roles.map(id).join(', ')}`,
    ];
    if (p.using) parts.push(`USING ${embedExpression(p.using)}`);
    if (p.withCheck) parts.push(`WITH CHECK ${embedExpression(p.withCheck)}`);
    steps.push({ sql: parts.join(' '), scope: 'object', reason: `policy ${key} is declared` });
    steps.push({
      sql: `COMMENT ON POLICY ${id(p.name)} ON ${qualified(p.table)} IS ${pg.escapeLiteral(`${policyMarker}${policyHash(p)}`)}`,
      scope: 'object',
      reason: `mark policy ${key} as managed`,
    });
  }

  // 7. Memberships to remove, and 8. roles no longer declared.
  for (const m of [...state.memberships].sort()) {
    if (wantMembers.has(m)) continue;
    const [member, group] = m.split('>') as [string, string];
    steps.push({
      sql: `REVOKE ${id(group)} FROM ${id(member)}`,
      scope: 'role',
      reason: `${member} is no longer declared a member of ${group}`,
    });
  }
  for (const [name, r] of [...state.roles].sort()) {
    if (declared.has(name)) continue;
    if (r.ownsObjects && decl.steward) {
      // Its objects and their data stay, owned by the steward (the database's owner role).
      steps.push({
        sql: `REASSIGN OWNED BY ${id(name)} TO ${id(decl.steward)}`,
        scope: 'role',
        destructive: true,
        reason: `role ${name} is no longer declared: the owner role ${decl.steward} keeps its objects`,
      });
      steps.push({ sql: `DROP OWNED BY ${id(name)}`, scope: 'role', reason: `role ${name}'s privileges go with it` });
    }
    steps.push({
      sql: `DROP ROLE ${id(name)}`,
      scope: 'role',
      reason: r.ownsObjects
        ? `role ${name} is no longer declared, but it owns objects`
        : `role ${name} is no longer declared`,
      ...(r.ownsObjects ? { destructive: true } : {}),
    });
  }
  return steps;
}

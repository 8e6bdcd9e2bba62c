// The planner alone, with no server: which SQL a declaration produces against a given catalog
// state, in which order, what it revokes and drops, what it leaves alone, and what it refuses.
// access.int.test.ts applies plans to a real PostgreSQL; these pin the plan itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CatalogState,
  type Declaration,
  DeclarationError,
  emptyCatalog,
  type PlanStep,
  plan,
  policyHash,
  shownSql,
} from '@plinth/pg-access';

const OWNER = 'shop/db';
const MARK = `'managed by plinth:${OWNER}'`;

/** A catalog with nothing managed in it; `over` adds what exists. */
const state = (over: Partial<CatalogState> = {}): CatalogState => ({
  ...emptyCatalog('shop', 'postgres'),
  ...over,
});
const shown = (steps: PlanStep[]) => steps.map(shownSql);

const ownNotes = { table: 'app.orders', name: 'own', roles: ['web'], using: 'owner = current_user' };
const decl: Declaration = {
  roles: [
    { name: 'app' },
    { name: 'web', login: true, password: "pa'ss", memberOf: ['app'] },
    { name: 'auth', login: true, inherit: false },
  ],
  database: [{ role: 'web', privileges: ['CONNECT', 'TEMP'] }],
  schemas: [{ role: 'app', schema: 'app', privileges: ['USAGE'] }],
  tables: [
    { role: 'app', table: 'app.orders', privileges: ['SELECT', 'INSERT'] },
    { role: 'web', table: 'app.customers', columns: ['name'], privileges: ['SELECT'] },
  ],
  rowSecurity: [{ table: 'app.orders', enabled: true, forced: true }],
  policies: [ownNotes],
};
const tablesExist = { rowSecurity: new Map([['app.orders', { enabled: false, forced: false }]]) };
/** The catalog once `decl` has been applied. */
const applied = (): CatalogState =>
  state({
    roles: new Map([
      ['app', { login: false, inherit: true, ownsObjects: false }],
      ['web', { login: true, inherit: true, ownsObjects: false }],
      ['auth', { login: true, inherit: false, ownsObjects: false }],
    ]),
    memberships: new Set(['web>app']),
    databaseGrants: new Set(['web|CONNECT', 'web|TEMPORARY']),
    schemaGrants: new Set(['app|app|USAGE']),
    tableGrants: new Set(['app|app.orders|INSERT', 'app|app.orders|SELECT']),
    columnGrants: new Set(['web|app.customers|name|SELECT']),
    rowSecurity: new Map([['app.orders', { enabled: true, forced: true }]]),
    policies: new Map([['app.orders|own', `plinth:${OWNER}:${policyHash(ownNotes)}`]]),
  });

describe('plan: a declaration on a fresh database', () => {
  it('creates and marks the roles, then memberships, grants, row security and policies, in that order', () => {
    assert.deepEqual(shown(plan(decl, state(tablesExist), OWNER)), [
      'CREATE ROLE "app" NOLOGIN',
      `COMMENT ON ROLE "app" IS ${MARK}`,
      `CREATE ROLE "web" LOGIN PASSWORD '***'`,
      `COMMENT ON ROLE "web" IS ${MARK}`,
      'CREATE ROLE "auth" LOGIN NOINHERIT',
      `COMMENT ON ROLE "auth" IS ${MARK}`,
      'GRANT "app" TO "web"',
      'GRANT CONNECT ON DATABASE "shop" TO "web"',
      'GRANT TEMPORARY ON DATABASE "shop" TO "web"',
      'GRANT USAGE ON SCHEMA "app" TO "app"',
      'GRANT INSERT ON TABLE "app"."orders" TO "app"',
      'GRANT SELECT ON TABLE "app"."orders" TO "app"',
      'GRANT SELECT ("name") ON TABLE "app"."customers" TO "web"',
      'ALTER TABLE "app"."orders" ENABLE ROW LEVEL SECURITY',
      'ALTER TABLE "app"."orders" FORCE ROW LEVEL SECURITY',
      'CREATE POLICY "own" ON "app"."orders" FOR ALL TO "web" USING (owner = current_user\n)',
      `COMMENT ON POLICY "own" ON "app"."orders" IS 'plinth:${OWNER}:${policyHash(ownNotes)}'`,
    ]);
  });

  it('sends a login role its password but shows it masked', () => {
    const steps = plan(decl, state(tablesExist), OWNER);
    const create = steps.find((s) => s.sql.startsWith('CREATE ROLE "web"'));
    assert.equal(create?.sql, `CREATE ROLE "web" LOGIN PASSWORD 'pa''ss'`, 'the password, quoted as a literal');
    assert.equal(create && shownSql(create), `CREATE ROLE "web" LOGIN PASSWORD '***'`);
    assert.ok(
      !shown(steps).some((s) => s.includes("pa'ss") || s.includes("pa''ss")),
      'no shown step carries the password',
    );
    assert.deepEqual(
      steps.filter((s) => s.shown !== undefined).map((s) => s.sql.slice(0, 17)),
      ['CREATE ROLE "web"'],
      'only the step with a secret has a masked form',
    );
  });

  it('runs role steps as the connecting role and object steps as the steward', () => {
    const steps = plan(decl, state(tablesExist), OWNER);
    const scope = (prefix: string) => steps.find((s) => s.sql.startsWith(prefix))?.scope;
    assert.equal(scope('CREATE ROLE'), 'role');
    assert.equal(scope('GRANT "app" TO "web"'), 'role');
    assert.equal(scope('GRANT SELECT ON TABLE'), 'object');
    assert.equal(scope('ALTER TABLE'), 'object');
    assert.equal(scope('CREATE POLICY'), 'object');
    assert.ok(!steps.some((s) => s.destructive), 'creating is never destructive');
  });

  it('quotes every name it is given, so a name cannot become SQL', () => {
    const steps = plan(
      {
        roles: [{ name: 'Web"; DROP TABLE x; --' }],
        schemas: [{ role: 'Web"; DROP TABLE x; --', schema: 'My App', privileges: ['USAGE'] }],
      },
      state(),
      OWNER,
    );
    assert.deepEqual(
      shown(steps).filter((s) => !s.startsWith('COMMENT')),
      ['CREATE ROLE "Web""; DROP TABLE x; --" NOLOGIN', 'GRANT USAGE ON SCHEMA "My App" TO "Web""; DROP TABLE x; --"'],
    );
  });
});

describe('plan: a database already converged', () => {
  it('plans nothing when the catalog matches the declaration (the password is not set again)', () => {
    assert.deepEqual(plan(decl, applied(), OWNER), []);
  });

  it('changes only what differs: a role attribute, one new grant', () => {
    const current = applied();
    current.roles.set('auth', { login: false, inherit: true, ownsObjects: false });
    current.tableGrants.delete('app|app.orders|INSERT');
    assert.deepEqual(shown(plan(decl, current, OWNER)), [
      'ALTER ROLE "auth" LOGIN',
      'ALTER ROLE "auth" NOINHERIT',
      'GRANT INSERT ON TABLE "app"."orders" TO "app"',
    ]);
  });
});

describe('plan: drift and what is no longer declared', () => {
  it('revokes privileges and memberships the managed roles hold beyond the declaration', () => {
    const current = applied();
    current.tableGrants.add('app|app.orders|DELETE');
    current.schemaGrants.add('web|app|CREATE');
    current.databaseGrants.add('auth|CONNECT');
    current.memberships.add('auth>app');
    const steps = plan(decl, current, OWNER);
    assert.deepEqual(shown(steps), [
      'REVOKE DELETE ON TABLE "app"."orders" FROM "app"',
      'REVOKE CREATE ON SCHEMA "app" FROM "web"',
      'REVOKE CONNECT ON DATABASE "shop" FROM "auth"',
      'REVOKE "app" FROM "auth"',
    ]);
    assert.ok(
      steps.every((s) => s.scope === 'role' && !s.destructive),
      'revokes run as the connecting role and lose no data',
    );
  });

  it('keeps a grant that a declared default privilege made, and revokes one the same creator did not', () => {
    const d: Declaration = {
      roles: [{ name: 'app' }],
      defaultPrivileges: [{ role: 'app', schema: 'app', objects: 'TABLES', privileges: ['SELECT'] }],
    };
    const current = state({
      roles: new Map([['app', { login: false, inherit: true, ownsObjects: false }]]),
      defaultGrants: new Set(['app|postgres|app|TABLES|SELECT']),
      tableGrants: new Set(['app|app.invoices|SELECT', 'app|app.ledger|SELECT', 'app|app.invoices|UPDATE']),
      owners: new Map([
        ['TABLES:app.invoices', 'postgres'],
        ['TABLES:app.ledger', 'mallory'],
      ]),
    });
    assert.deepEqual(shown(plan(d, current, OWNER)), [
      'REVOKE UPDATE ON TABLE "app"."invoices" FROM "app"',
      'REVOKE SELECT ON TABLE "app"."ledger" FROM "app"',
    ]);
  });

  it('drops roles no longer declared, last; one that owns objects hands them to the steward first', () => {
    const d: Declaration = { roles: [{ name: 'app' }], steward: 'shop_owner' };
    const current = state({
      roles: new Map([
        ['app', { login: false, inherit: true, ownsObjects: false }],
        ['old', { login: false, inherit: true, ownsObjects: false }],
        ['migrator', { login: true, inherit: true, ownsObjects: true }],
      ]),
      stewardOf: new Set(['app']),
      memberships: new Set(['old>app']),
    });
    const steps = plan(d, current, OWNER);
    assert.deepEqual(
      steps.map((s) => [s.sql, !!s.destructive]),
      [
        ['REVOKE "app" FROM "old"', false],
        ['REASSIGN OWNED BY "migrator" TO "shop_owner"', true],
        ['DROP OWNED BY "migrator"', false],
        ['DROP ROLE "migrator"', true],
        ['DROP ROLE "old"', false],
      ],
    );
  });

  it('without a steward, drops a role that owns objects only as a destructive step', () => {
    const current = state({ roles: new Map([['migrator', { login: true, inherit: true, ownsObjects: true }]]) });
    const steps = plan({ roles: [] }, current, OWNER);
    assert.deepEqual(
      steps.map((s) => [s.sql, !!s.destructive]),
      [['DROP ROLE "migrator"', true]],
    );
    assert.match(steps[0]?.reason ?? '', /owns objects/);
  });
});

describe('plan: row-level security and policies', () => {
  it('disables and unforces row security as declared, and refuses a table that does not exist', () => {
    const current = state({ rowSecurity: new Map([['app.orders', { enabled: true, forced: true }]]) });
    assert.deepEqual(
      shown(plan({ roles: [], rowSecurity: [{ table: 'app.orders', enabled: false }] }, current, OWNER)),
      [
        'ALTER TABLE "app"."orders" DISABLE ROW LEVEL SECURITY',
        'ALTER TABLE "app"."orders" NO FORCE ROW LEVEL SECURITY',
      ],
    );
    assert.throws(
      () => plan({ roles: [], rowSecurity: [{ table: 'app.gone', enabled: true }] }, current, OWNER),
      /rowSecurity: table app\.gone does not exist/,
    );
  });

  it('recreates a policy whose declaration changed and drops its own undeclared ones, leaving others alone', () => {
    const changed = { ...ownNotes, command: 'SELECT' as const, roles: ['web', 'app'], withCheck: 'true' };
    const current = applied();
    current.policies.set('app.orders|stale', `plinth:${OWNER}:0123456789abcdef`);
    current.policies.set('app.orders|theirs', 'plinth:other/db:0123456789abcdef');
    current.policies.set('app.orders|by-hand', 'written by a DBA');
    assert.deepEqual(shown(plan({ ...decl, policies: [changed] }, current, OWNER)), [
      'DROP POLICY "own" ON "app"."orders"',
      'DROP POLICY "stale" ON "app"."orders"',
      'CREATE POLICY "own" ON "app"."orders" FOR SELECT TO "web", "app" USING (owner = current_user\n) WITH CHECK (true\n)',
      `COMMENT ON POLICY "own" ON "app"."orders" IS 'plinth:${OWNER}:${policyHash(changed)}'`,
    ]);
  });

  it('gives a policy a new hash when its roles, command or expressions change, not when roles are reordered', () => {
    const base = policyHash(ownNotes);
    assert.equal(policyHash({ ...ownNotes, roles: ['web'] }), base);
    assert.equal(policyHash({ ...ownNotes, command: 'ALL' }), base, 'ALL is the default command');
    for (const other of [
      { ...ownNotes, roles: ['web', 'app'] },
      { ...ownNotes, command: 'SELECT' as const },
      { ...ownNotes, using: 'true' },
      { ...ownNotes, withCheck: 'true' },
    ])
      assert.notEqual(policyHash(other), base, JSON.stringify(other));
    assert.equal(
      policyHash({ ...ownNotes, roles: ['web', 'app'] }),
      policyHash({ ...ownNotes, roles: ['app', 'web'] }),
    );
  });

  it('refuses to take over a policy of the same name that it did not make', () => {
    const current = applied();
    current.policies.set('app.orders|own', 'written by a DBA');
    assert.throws(() => plan(decl, current, OWNER), /policy app\.orders\|own exists and is not managed by shop\/db/);
  });
});

describe('plan: memberships, stewards and other objects', () => {
  it('makes the steward a member of each declared role it is not yet a member of', () => {
    const d: Declaration = { roles: [{ name: 'app' }, { name: 'web', login: true }], steward: 'shop_owner' };
    const current = state({
      roles: new Map([
        ['app', { login: false, inherit: true, ownsObjects: false }],
        ['web', { login: true, inherit: true, ownsObjects: false }],
      ]),
      stewardOf: new Set(['app']),
    });
    assert.deepEqual(shown(plan(d, current, OWNER)), ['GRANT "web" TO "shop_owner"']);
  });

  it("sets default privileges for the steward's future objects, or the named creator's", () => {
    const d: Declaration = {
      roles: [{ name: 'app' }],
      steward: 'shop_owner',
      defaultPrivileges: [
        { role: 'app', schema: 'app', objects: 'TABLES', privileges: ['SELECT'] },
        { role: 'app', schema: 'app', objects: 'SEQUENCES', privileges: ['USAGE'], creator: 'migrator' },
      ],
    };
    const current = state({
      roles: new Map([['app', { login: false, inherit: true, ownsObjects: false }]]),
      stewardOf: new Set(['app']),
    });
    assert.deepEqual(shown(plan(d, current, OWNER)), [
      'ALTER DEFAULT PRIVILEGES FOR ROLE "migrator" IN SCHEMA "app" GRANT USAGE ON SEQUENCES TO "app"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "shop_owner" IN SCHEMA "app" GRANT SELECT ON TABLES TO "app"',
    ]);
  });

  it('grants on sequences and on routines by their catalog signature, and refuses an unknown function', () => {
    const d: Declaration = {
      roles: [{ name: 'app' }],
      sequences: [{ role: 'app', sequence: 'app.orders_id_seq', privileges: ['USAGE'] }],
      functions: [{ role: 'app', function: 'app.total(int)', privileges: ['EXECUTE'] }],
    };
    const current = state({
      roles: new Map([['app', { login: false, inherit: true, ownsObjects: false }]]),
      functionNames: new Map([['app.total(int)', 'app.total(integer)']]),
    });
    assert.deepEqual(shown(plan(d, current, OWNER)), [
      'GRANT USAGE ON SEQUENCE "app"."orders_id_seq" TO "app"',
      'GRANT EXECUTE ON ROUTINE "app"."total"(integer) TO "app"',
    ]);
    current.functionGrants.add('app|app.total(integer)|EXECUTE');
    current.sequenceGrants.add('app|app.orders_id_seq|USAGE');
    assert.deepEqual(plan(d, current, OWNER), [], 'the catalog form matches what was granted');
    assert.throws(
      () =>
        plan({ ...d, functions: [{ role: 'app', function: 'app.nope()', privileges: ['EXECUTE'] }] }, current, OWNER),
      /functions: app\.nope\(\) does not exist/,
    );
  });

  it('refuses declared roles that exist and are not this declaration’s, naming who holds them', () => {
    const current = state({
      foreignRoles: new Map<string, string | undefined>([
        ['web', 'other/db'],
        ['app', undefined],
      ]),
    });
    assert.throws(
      () => plan(decl, current, OWNER),
      (e: unknown) => {
        assert.ok(e instanceof DeclarationError);
        assert.deepEqual(e.problems, [
          'roles: web belongs to Database other/db; choose another name',
          'roles: app exists and is not managed by Plinth; choose another name',
        ]);
        return true;
      },
    );
  });

  it('refuses a table that is not schema-qualified', () => {
    assert.throws(
      () => plan({ roles: [], tables: [{ role: 'app', table: 'orders', privileges: ['SELECT'] }] }, state(), OWNER),
      /table "orders" must be schema-qualified/,
    );
  });
});

// The planner against the ground's real PostgreSQL: every declared role logs in and runs real
// statements (allowed ones succeed, the rest fail with permission or RLS errors); a second
// plan is empty; drift is repaired; a destructive plan is refused; deleting revokes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ground, groundPg, requireGround } from '@plinth/ground';
import { applyDeclaration, type Declaration, DestructivePlanError, planFor, runOne } from '@plinth/pg-access';
import pg from 'pg';

const run = Math.random().toString(36).slice(2, 7);
const db = `access_${run}`;
const r = (name: string) => `t${run}_${name}`;
const OWNER = 'test/shop';
const connect = async (user: string, password: string, database = db) => {
  const c = new pg.Client(groundPg(database, { user, password }));
  await c.connect();
  return c;
};
let admin: pg.Client;

const declaration = (): Declaration => ({
  roles: [
    { name: r('reader') },
    { name: r('writer') },
    { name: r('alice'), login: true, password: 'alice-pw', memberOf: [r('writer')] },
    { name: r('dan'), login: true, password: 'dan-pw', memberOf: [r('writer')] },
    { name: r('bob'), login: true, password: 'bob-pw', memberOf: [r('reader')] },
    { name: r('carol'), login: true, password: 'carol-pw' },
    { name: r('eve'), login: true, password: 'eve-pw' }, // may not even connect
  ],
  database: [
    { role: r('reader'), privileges: ['CONNECT'] },
    { role: r('writer'), privileges: ['CONNECT', 'TEMP'] },
    { role: r('carol'), privileges: ['CONNECT'] },
  ],
  schemas: [r('reader'), r('writer'), r('carol')].map((role) => ({
    role,
    schema: 'app',
    privileges: ['USAGE' as const],
  })),
  tables: [
    { role: r('reader'), table: 'app.orders', privileges: ['SELECT'] },
    { role: r('writer'), table: 'app.orders', privileges: ['SELECT', 'INSERT', 'UPDATE'] },
    { role: r('writer'), table: 'app.audit', privileges: ['SELECT', 'INSERT'] },
    { role: r('carol'), table: 'app.orders', privileges: ['SELECT'], columns: ['id', 'amount'] },
  ],
  sequences: [
    { role: r('writer'), sequence: 'app.orders_id_seq', privileges: ['USAGE'] },
    { role: r('writer'), sequence: 'app.audit_id_seq', privileges: ['USAGE'] },
  ],
  functions: [{ role: r('reader'), function: 'app.double(int)', privileges: ['EXECUTE'] }],
  defaultPrivileges: [{ role: r('reader'), schema: 'app', objects: 'TABLES', privileges: ['SELECT'] }],
  rowSecurity: [{ table: 'app.orders', enabled: true }],
  policies: [
    {
      table: 'app.orders',
      name: 'own_rows',
      roles: [r('writer')],
      using: 'owner = session_user',
      withCheck: 'owner = session_user',
    },
    { table: 'app.orders', name: 'read_all', command: 'SELECT', roles: [r('reader'), r('carol')], using: 'true' },
  ],
});

before(async () => {
  await requireGround('postgres');
  const root = await connect(ground('PGUSER'), ground('PGPASSWORD'), 'postgres');
  await root.query(`CREATE DATABASE ${db}`);
  await root.end();
  admin = await connect(ground('PGUSER'), ground('PGPASSWORD'));
  await admin.query(`
    CREATE SCHEMA app;
    CREATE TABLE app.orders (id serial PRIMARY KEY, owner text NOT NULL, amount int NOT NULL, secret text);
    CREATE TABLE app.audit (id serial PRIMARY KEY, note text);
    CREATE FUNCTION app.double(n int) RETURNS int LANGUAGE sql AS 'select n * 2';
    REVOKE EXECUTE ON FUNCTION app.double(int) FROM PUBLIC;
    REVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC;
    INSERT INTO app.orders (owner, amount, secret) VALUES ('${r('alice')}', 10, 'a'), ('${r('dan')}', 20, 'd');`);
});

after(async () => {
  await admin?.end();
  const root = await connect(ground('PGUSER'), ground('PGPASSWORD'), 'postgres');
  await root.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  for (const name of ['reader', 'writer', 'alice', 'dan', 'bob', 'carol', 'eve'])
    await root.query(`DROP ROLE IF EXISTS ${r(name)}`);
  await root.end();
});

/** Runs sql as user; returns 'ok' with rows, or the error's SQLSTATE-class message. */
async function as(user: string, sql: string): Promise<string> {
  let c: pg.Client | undefined;
  try {
    c = await connect(r(user), `${user}-pw`);
    const res = await c.query(sql);
    return `ok ${res.rowCount}`;
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === '42501'
      ? /row-level security/.test((e as Error).message)
        ? 'rls-violation'
        : 'permission-denied'
      : `error ${code}: ${(e as Error).message}`;
  } finally {
    await c?.end();
  }
}

describe('pg-access planner on PostgreSQL', () => {
  it('applies the declaration, and each role can do exactly what it was granted', async () => {
    const steps = await applyDeclaration(admin, declaration(), OWNER);
    assert.ok(steps.length > 20, `expected a full plan, got ${steps.length} steps`);
    await admin.query('CREATE TABLE app.later (id int)'); // default privileges reach it
    const matrix: [string, string, string][] = [
      ['alice', 'SELECT * FROM app.orders', 'ok 1'], // RLS: only her own row
      ['alice', `INSERT INTO app.orders (owner, amount) VALUES ('${r('alice')}', 5)`, 'ok 1'],
      ['alice', `INSERT INTO app.orders (owner, amount) VALUES ('${r('dan')}', 5)`, 'rls-violation'],
      ['alice', `UPDATE app.orders SET amount = 99 WHERE owner = '${r('dan')}'`, 'ok 0'], // dan's row is invisible to her
      ['alice', 'DELETE FROM app.orders', 'permission-denied'],
      ['alice', 'TRUNCATE app.orders', 'permission-denied'],
      ['alice', `INSERT INTO app.audit (note) VALUES ('x')`, 'ok 1'],
      ['alice', 'DELETE FROM app.audit', 'permission-denied'],
      ['dan', 'SELECT * FROM app.orders', 'ok 1'],
      ['bob', 'SELECT * FROM app.orders', 'ok 3'],
      ['bob', `INSERT INTO app.orders (owner, amount) VALUES ('${r('bob')}', 1)`, 'permission-denied'],
      ['bob', 'SELECT * FROM app.audit', 'permission-denied'],
      ['carol', 'SELECT id, amount FROM app.orders', 'ok 3'],
      ['carol', 'SELECT secret FROM app.orders', 'permission-denied'],
      ['carol', 'SELECT * FROM app.orders', 'permission-denied'],
      ['carol', `UPDATE app.orders SET amount = 1`, 'permission-denied'],
      ['carol', `SELECT nextval('app.orders_id_seq')`, 'permission-denied'],
      ['alice', 'CREATE TEMP TABLE scratch (i int)', 'ok null'],
      ['bob', 'CREATE TEMP TABLE scratch (i int)', 'permission-denied'],
      ['bob', 'SELECT app.double(21)', 'ok 1'],
      ['alice', 'SELECT app.double(21)', 'permission-denied'],
      ['bob', 'SELECT * FROM app.later', 'ok 0'],
      ['alice', 'SELECT * FROM app.later', 'permission-denied'],
      ['eve', 'SELECT 1', 'permission-denied'], // no CONNECT
    ];
    const got: [string, string, string][] = [];
    for (const [user, sql] of matrix) got.push([user, sql, await as(user, sql)]);
    assert.deepEqual(got, matrix);
  });

  it('plans nothing the second time', async () => {
    assert.deepEqual(await planFor(admin, declaration(), OWNER), []);
  });

  it('repairs drift within the managed scope', async () => {
    await admin.query(`GRANT DELETE ON app.orders TO ${r('bob')}; REVOKE INSERT ON app.audit FROM ${r('writer')};
      REVOKE CONNECT ON DATABASE ${db} FROM ${r('reader')}; GRANT EXECUTE ON FUNCTION app.double(int) TO ${r('alice')}`);
    const steps = await planFor(admin, declaration(), OWNER);
    assert.deepEqual(
      steps.map((s) => s.sql),
      [
        `GRANT CONNECT ON DATABASE "${db}" TO "${r('reader')}"`,
        `GRANT INSERT ON TABLE "app"."audit" TO "${r('writer')}"`,
        `REVOKE EXECUTE ON ROUTINE "app"."double"(n integer) FROM "${r('alice')}"`,
        `REVOKE DELETE ON TABLE "app"."orders" FROM "${r('bob')}"`,
      ],
    );
    await applyDeclaration(admin, declaration(), OWNER);
    assert.deepEqual(await planFor(admin, declaration(), OWNER), []);
    assert.equal(await as('bob', 'DELETE FROM app.orders'), 'permission-denied');
  });

  it('refuses to drop a role that owns objects unless allowed', async () => {
    await admin.query(`CREATE TABLE app.carols (id int); ALTER TABLE app.carols OWNER TO ${r('carol')}`);
    const without = { ...declaration(), roles: declaration().roles.filter((x) => x.name !== r('carol')) };
    without.schemas = without.schemas?.filter((s) => s.role !== r('carol'));
    without.database = without.database?.filter((d) => d.role !== r('carol'));
    without.tables = without.tables?.filter((t) => t.role !== r('carol'));
    without.policies = without.policies?.map((p) => ({ ...p, roles: p.roles.filter((x) => x !== r('carol')) }));
    await assert.rejects(applyDeclaration(admin, without, OWNER), (e: unknown) => {
      assert.ok(e instanceof DestructivePlanError);
      assert.match(
        e.message,
        new RegExp(`DROP ROLE "${r('carol')}" \\(role ${r('carol')} is no longer declared, but it owns objects\\)`),
      );
      return true;
    });
    assert.equal(await as('carol', 'SELECT id FROM app.orders'), 'ok 3', 'nothing was applied');
    await admin.query('DROP TABLE app.carols');
  });

  it('revokes everything and drops its roles when the declaration is deleted', async () => {
    await applyDeclaration(admin, { roles: [] }, OWNER);
    const left = await admin.query(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`t${run}_%`]);
    assert.deepEqual(left.rows, []);
    const policies = await admin.query(`SELECT policyname FROM pg_policies WHERE tablename = 'orders'`);
    assert.deepEqual(policies.rows, []);
    assert.deepEqual(await planFor(admin, { roles: [] }, OWNER), []);
  });

  it('runs each step as exactly one statement: the server refuses two', async () => {
    await assert.rejects(runOne(admin, `SELECT 1; CREATE ROLE ${r('smuggled')}`), /cannot insert multiple commands/);
    const smuggled = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [r('smuggled')]);
    assert.equal(smuggled.rowCount, 0);
  });
});

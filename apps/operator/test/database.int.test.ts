// The Database controller against the ground's API server and PostgreSQL: it creates the
// database and roles, hands out generated passwords in Secrets that really log in, converges
// table privileges when the spec changes, and revokes and drops its roles on delete (the
// database itself is kept).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { DatabaseKind, type DatabaseObject } from '@plinth/api';
import { eventually, ground, groundPg, groundPgSecretData, requireGround } from '@plinth/ground';
import { getCondition, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { DATABASE_MARKER } from '@plinth/pg-access';
import pg from 'pg';
import { useOperator } from './support.ts';

const DatabaseType = resourceOf(DatabaseKind);
const run = Math.random().toString(36).slice(2, 7);
const dbName = `shop_${run}`;
const role = (n: string) => `d${run}_${n}`;
/** The ground's superuser, connected to `database`. */
const superuser = (database: string) => new pg.Client(groundPg(database));

async function pgAs(user: string, password: string, database: string, sql: string): Promise<string> {
  const c = new pg.Client(groundPg(database, { user, password }));
  await c.connect();
  try {
    return `ok ${(await c.query(sql)).rowCount}`;
  } catch (e) {
    return (e as { code?: string }).code === '42501' ? 'permission-denied' : `error ${(e as Error).message}`;
  } finally {
    await c.end();
  }
}

const t = useOperator('db');

before(async () => {
  await t.ready;
  await requireGround('postgres');
  await t.client.create(Resources.Secret, {
    metadata: { name: 'pg-admin', namespace: t.ns },
    stringData: groundPgSecretData(),
  } as KubeObject);
});

after(async () => {
  const admin = superuser('postgres');
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  for (const n of ['app', 'reader', 'owner']) await admin.query(`DROP ROLE IF EXISTS ${role(n)}`);
  const owners = await admin.query<{ rolname: string }>(
    `SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') = $1`,
    [`${DATABASE_MARKER}${t.ns}/shop`],
  );
  for (const r of owners.rows) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r.rolname)}`);
  await admin.end();
});

const get = () => t.client.get<DatabaseObject & KubeObject>(DatabaseType, { namespace: t.ns, name: 'shop' });
const readyAt = (generation: number) =>
  eventually(
    `Database Ready at generation ${generation}`,
    async () => {
      const d = await get();
      const c = getCondition(d?.status?.conditions, 'Ready');
      return c?.status === 'True' && c.observedGeneration === generation && d;
    },
    60_000,
  );

it('creates the database and roles, grants as declared, and revokes on delete', async () => {
  await t.client.create(DatabaseType, {
    apiVersion: DatabaseKind.apiVersion,
    kind: DatabaseKind.kind,
    metadata: { name: 'shop', namespace: t.ns },
    spec: {
      connectionSecretRef: { name: 'pg-admin' },
      databaseName: dbName,
      schemas: ['app'],
      roles: [
        { name: role('app') },
        { name: role('reader'), login: true, memberOf: [role('app')] },
        { name: role('owner'), login: true },
      ],
      schemaPrivileges: [
        { role: role('app'), schema: 'app', privileges: ['USAGE'] },
        { role: role('owner'), schema: 'app', privileges: ['USAGE', 'CREATE'] },
      ],
    },
  } as KubeObject);
  const first = await readyAt(1);
  assert.equal(first.status?.databaseName, dbName);
  assert.ok(
    first.status?.lastAppliedPlan?.some((s) => s.startsWith(`CREATE ROLE "${role('reader')}" LOGIN PASSWORD '***'`)),
    'passwords are redacted in status',
  );

  const secret = await t.client.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, {
    namespace: t.ns,
    name: `shop-${role('reader').replace(/_/g, '-')}`,
  });
  const password = Buffer.from(secret?.data.password ?? '', 'base64').toString('utf8');
  assert.equal(password.length, 32);
  assert.equal(await pgAs(role('reader'), password, dbName, 'SELECT 1'), 'ok 1', 'the generated password logs in');

  // The application's migration, as its own login role, creates a table; the Database grants on it.
  const ownerPassword = Buffer.from(
    (
      await t.client.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, {
        namespace: t.ns,
        name: `shop-${role('owner').replace(/_/g, '-')}`,
      })
    )?.data.password ?? '',
    'base64',
  ).toString('utf8');
  assert.equal(
    await pgAs(role('owner'), ownerPassword, dbName, 'CREATE TABLE app.items (id int, name text, cost int)'),
    'ok null',
  );
  assert.equal(
    await pgAs(role('owner'), ownerPassword, dbName, 'INSERT INTO app.items VALUES (1, $$pen$$, 3)'),
    'ok 1',
  );
  assert.equal(await pgAs(role('reader'), password, dbName, 'SELECT * FROM app.items'), 'permission-denied');
  await t.client.mergePatch(
    DatabaseType,
    { namespace: t.ns, name: 'shop' },
    {
      spec: {
        tablePrivileges: [{ role: role('app'), table: 'app.items', privileges: ['SELECT'], columns: ['id', 'name'] }],
      },
    },
  );
  const second = await readyAt(2);
  assert.deepEqual(second.status?.lastAppliedPlan, [
    `GRANT SELECT ("id") ON TABLE "app"."items" TO "${role('app')}"`,
    `GRANT SELECT ("name") ON TABLE "app"."items" TO "${role('app')}"`,
  ]);
  assert.equal(await pgAs(role('reader'), password, dbName, 'SELECT id, name FROM app.items'), 'ok 1');
  assert.equal(await pgAs(role('reader'), password, dbName, 'SELECT cost FROM app.items'), 'permission-denied');

  // `plinth db plan` shows drift before the operator repairs it.
  const cli = join(import.meta.dirname, '..', '..', 'cli', 'src', 'main.ts');
  const plan = () =>
    promisify(execFile)(process.execPath, [cli, 'db', 'plan', 'shop', '-n', t.ns], {
      env: { ...process.env, KUBECONFIG: ground('KUBECONFIG') },
    });
  assert.match((await plan()).stdout, new RegExp(`Database ${t.ns}/shop is in sync: nothing to apply`));
  const drift = superuser(dbName);
  await drift.connect();
  await drift.query(`GRANT DELETE ON app.items TO ${role('reader')}`);
  await drift.end();
  const shown = (await plan()).stdout;
  assert.match(shown, /1 step\(s\) to apply/);
  assert.match(shown, new RegExp(`REVOKE DELETE ON TABLE "app"."items" FROM "${role('reader')}";  -- table privilege`));

  await t.client.delete(DatabaseType, { namespace: t.ns, name: 'shop' });
  await eventually(
    'Database gone after its finalizer',
    async () => ((await get()) === undefined ? true : undefined),
    60_000,
  );
  const admin = superuser(dbName);
  await admin.connect();
  const roles = await admin.query('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [`d${run}_%`]);
  const items = await admin.query(
    `SELECT count(*)::int AS n, (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'app.items'::regclass) AS owner
       FROM app.items`,
  );
  await admin.end();
  assert.deepEqual(roles.rows, [], 'its roles are dropped');
  assert.deepEqual(items.rows, [{ n: 1, owner: first.status?.ownerRole }], 'the data stays, kept by the owner role');
});

it('the API server refuses privileges that do not fit their objects, naming the field', async () => {
  const bad = (spec: Record<string, unknown>) =>
    t.client.create(DatabaseType, {
      apiVersion: DatabaseKind.apiVersion,
      kind: DatabaseKind.kind,
      metadata: { name: 'bad', namespace: t.ns },
      spec: { connectionSecretRef: { name: 'pg-admin' }, roles: [], ...spec },
    } as KubeObject);
  await assert.rejects(
    bad({ defaultPrivileges: [{ role: 'r', schema: 'app', objects: 'FUNCTIONS', privileges: ['SELECT'] }] }),
    /spec.defaultPrivileges: Invalid value.*default privileges must fit their objects/s,
  );
  await assert.rejects(
    bad({ functionPrivileges: [{ role: 'r', function: 'app.total', privileges: ['EXECUTE'] }] }),
    /spec.functionPrivileges\[0\].function/,
  );
  await assert.rejects(bad({ databasePrivileges: [{ role: 'r', privileges: ['DROP'] }] }), /Unsupported value: "DROP"/);
});

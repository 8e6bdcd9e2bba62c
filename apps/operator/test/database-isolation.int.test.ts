// Tenant isolation in PostgreSQL, written as the attacks of a hostile tenant (team-b) against
// another (team-a) sharing one server that the platform offers (serverRef: the credentials sit
// in the platform namespace, out of both teams' reach). Each attack is refused with a message
// naming what is not allowed, and the test then looks in PostgreSQL's catalog and at the
// victim's data to show nothing of it arrived. Runs on the ground's API server and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DatabaseKind, type DatabaseObject } from '@plinth/api';
import { eventually, groundPg, groundPgSecretData, requireGround, uniqueName } from '@plinth/ground';
import { getCondition, type KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import pg from 'pg';
import { useOperator } from './support.ts';

const DatabaseType = resourceOf(DatabaseKind);
const run = Math.random().toString(36).slice(2, 7);
const role = (n: string) => `i${run}_${n}`;
const victimDb = `victim_${run}`;
const platformNs = uniqueName('platform');
let client: KubeClient;
let nsA: string;
let nsB: string;
let nsC: string;
/** team-b's own databases, one per Database object (a database belongs to one). */
const evil = (n: string) => `b${run}_${n}`;
const made = { roles: [] as string[] };

async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
  database: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client(groundPg(database));
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

async function as(user: string, password: string, database: string, text: string): Promise<string> {
  const c = new pg.Client(groundPg(database, { user, password }));
  try {
    await c.connect();
    const r = await c.query(text);
    return `ok ${JSON.stringify(r.rows)}`;
  } catch (e) {
    return `error ${(e as Error).message}`;
  } finally {
    await c.end();
  }
}

const roleExists = async (name: string) =>
  (await sql('postgres', 'select 1 from pg_roles where rolname = $1', [name])).length > 0;

async function passwordOf(ns: string, secret: string): Promise<string> {
  const s = await client.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, {
    namespace: ns,
    name: secret,
  });
  return Buffer.from(s?.data.password ?? '', 'base64').toString('utf8');
}

const get = (ns: string, name: string) =>
  client.get<DatabaseObject & KubeObject>(DatabaseType, { namespace: ns, name });

async function createDatabase(ns: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await client.create(DatabaseType, {
    apiVersion: DatabaseKind.apiVersion,
    kind: DatabaseKind.kind,
    metadata: { name, namespace: ns },
    spec: { serverRef: { name: 'shared-pg' }, ...spec },
  } as KubeObject);
}

/** Waits for the Ready condition to reach `status` at the current generation; returns the object. */
const readyIs = (ns: string, name: string, status: 'True' | 'False', reason?: string) =>
  eventually(
    `Database ${ns}/${name} Ready=${status}${reason ? ` (${reason})` : ''}`,
    async () => {
      const d = await get(ns, name);
      const c = getCondition(d?.status?.conditions, 'Ready');
      if (c?.status === status && c.observedGeneration === d?.metadata.generation && (!reason || c.reason === reason))
        return d;
      throw new Error(`now: ${JSON.stringify(c)}`);
    },
    60_000,
  );
const readyMessage = (d: DatabaseObject) => getCondition(d.status?.conditions, 'Ready')?.message ?? '';

// One operator per team namespace, as the platform's: the server Secret is in the platform
// namespace, and a few plain roles may be joined (and the superuser, listed by mistake).
const env = () => ({
  PLINTH_NAMESPACE: platformNs,
  PLINTH_PG_GRANTABLE_ROLES: `${role('reporting')},${groundPg('postgres').user}`,
});
const teamA = useOperator('team-a', {
  env,
  // Databases carry a finalizer: delete them while the operators still run (team-a's `after`
  // runs first, before any operator stops).
  beforeStop: async () => {
    const teams = [teamA.ns, teamB.ns, teamC.ns].filter((ns) => ns !== undefined);
    const admin = teamA.client;
    for (const ns of teams) {
      for (const d of (await admin.list<DatabaseObject & KubeObject>(DatabaseType, { namespace: ns })).items) {
        await admin.delete(DatabaseType, { namespace: ns, name: d.metadata.name ?? '' });
      }
    }
    await eventually(
      'every Database gone',
      async () => {
        for (const ns of teams) if ((await admin.list(DatabaseType, { namespace: ns })).items.length) return false;
        return true;
      },
      60_000,
    );
  },
});
const teamB = useOperator('team-b', { env });
const teamC = useOperator('team-c', { env });

before(async () => {
  await Promise.all([teamA.ready, teamB.ready, teamC.ready]);
  await requireGround('postgres');
  client = teamA.client;
  [nsA, nsB, nsC] = [teamA.ns, teamB.ns, teamC.ns];
  await client.create(Resources.Namespace, { metadata: { name: platformNs } });
  // The platform's server: a superuser Secret in the platform namespace, offered to team-a and team-b.
  await client.create(Resources.Secret, {
    metadata: {
      name: 'shared-pg',
      namespace: platformNs,
      labels: { 'plinth.dev/database-server': 'true' },
      annotations: { 'plinth.dev/database-namespaces': `${nsA},${nsB}` },
    },
    stringData: groundPgSecretData(),
  } as KubeObject);
  // A plain role the platform lets Databases join.
  await sql('postgres', `CREATE ROLE ${role('reporting')} NOLOGIN`);
  made.roles.push(role('reporting'));

  // team-a: a database with an owner (migrations), a reader that sees only its own rows.
  await createDatabase(nsA, 'shop', {
    databaseName: victimDb,
    schemas: ['app'],
    roles: [
      { name: role('a_owner'), login: true },
      { name: role('a_reader'), login: true },
    ],
    schemaPrivileges: [
      { role: role('a_owner'), schema: 'app', privileges: ['USAGE', 'CREATE'] },
      { role: role('a_reader'), schema: 'app', privileges: ['USAGE'] },
    ],
  });
  await readyIs(nsA, 'shop', 'True');
  const ownerPw = await passwordOf(nsA, `shop-${role('a_owner').replace(/_/g, '-')}`);
  const migrated = await as(
    role('a_owner'),
    ownerPw,
    victimDb,
    `CREATE TABLE app.orders (who text, item text);
     INSERT INTO app.orders VALUES ('${role('a_reader')}', 'mine'), ('someone', 'not mine')`,
  );
  assert.match(migrated, /^ok/, 'team-a migrates as its own role');
  await client.mergePatch(
    DatabaseType,
    { namespace: nsA, name: 'shop' },
    {
      spec: {
        tablePrivileges: [{ role: role('a_reader'), table: 'app.orders', privileges: ['SELECT'] }],
        rowSecurity: [{ table: 'app.orders', enabled: true }],
        policies: [{ table: 'app.orders', name: 'own', roles: [role('a_reader')], using: 'who = current_user' }],
      },
    },
  );
  await eventually('team-a at generation 2', async () => {
    const d = await readyIs(nsA, 'shop', 'True');
    return d.metadata.generation === 2 && d;
  });
});

// Once the operators have stopped and their namespaces are going.
after(async () => {
  await client?.delete(Resources.Namespace, { name: platformNs }).catch(() => {});
  const dbs = await sql<{ datname: string }>(
    'postgres',
    'select datname from pg_database where datname like $1 or datname = $2',
    [`b${run}_%`, victimDb],
  );
  for (const db of dbs)
    await sql('postgres', `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db.datname)} WITH (FORCE)`);
  const leftovers = await sql<{ rolname: string }>(
    'postgres',
    `select rolname from pg_roles
      where rolname like $1 or rolname = any($2) or shobj_description(oid, 'pg_authid') like any($3)`,
    [`i${run}_%`, made.roles, [nsA, nsB, nsC].map((ns) => `plinth:database:${ns}/%`)],
  );
  for (const r of leftovers) await sql('postgres', `DROP ROLE IF EXISTS ${pg.escapeIdentifier(r.rolname)}`);
});

/** What team-a's reader sees: the attack must not change it. */
async function victimSees(): Promise<string> {
  const pw = await passwordOf(nsA, `shop-${role('a_reader').replace(/_/g, '-')}`);
  return as(role('a_reader'), pw, victimDb, 'SELECT item FROM app.orders ORDER BY item');
}

describe('a hostile tenant against PostgreSQL', () => {
  it('cannot run SQL through a policy expression', async () => {
    await createDatabase(nsB, 'inject', {
      databaseName: evil('inject'),
      roles: [{ name: role('b_user') }],
      policies: [
        {
          table: 'app.t',
          name: 'p',
          roles: [role('b_user')],
          using: `true); CREATE ROLE ${role('x')} SUPERUSER; SELECT (true`,
        },
      ],
    });
    const d = await readyIs(nsB, 'inject', 'False', 'NotAllowed');
    assert.match(readyMessage(d), /policies\[0\]\.using: must be one SQL expression, but it makes 3 statements/);
    assert.equal(await roleExists(role('x')), false, 'the injected role does not exist');
    assert.equal(await roleExists(role('b_user')), false, 'nothing of the declaration was applied');

    // One expression that closes its parenthesis to add a clause is refused the same way.
    await client.mergePatch(
      DatabaseType,
      { namespace: nsB, name: 'inject' },
      {
        spec: {
          policies: [{ table: 'app.t', name: 'p', roles: [role('b_user')], using: 'true) FROM pg_authid WHERE (true' }],
        },
      },
    );
    const again = await readyIs(nsB, 'inject', 'False', 'NotAllowed');
    assert.match(readyMessage(again), /policies\[0\]\.using: must be one SQL expression/);
    await client.delete(DatabaseType, { namespace: nsB, name: 'inject' });
  });

  it('cannot join the superuser, predefined roles or another Database’s roles', async () => {
    await assert.rejects(
      createDatabase(nsB, 'joiner', {
        databaseName: evil('joiner'),
        roles: [{ name: role('b_login'), login: true, memberOf: ['pg_execute_server_program'] }],
      }),
      /spec.roles: Invalid value.*roles cannot be named pg_\* or plinth_\*, nor join PostgreSQL's predefined roles/s,
      'the API server refuses a predefined role',
    );
    const superuser = groundPg('postgres').user;
    for (const [i, [target, expected]] of (
      [
        [superuser, new RegExp(`memberOf: ${superuser} does not exist or is a privileged role`)],
        [
          role('a_reader'),
          new RegExp(`roles\\[0\\]\\.memberOf\\[0\\]: ${role('a_reader')} is not a role of this Database`),
        ],
      ] as [string, RegExp][]
    ).entries()) {
      await createDatabase(nsB, 'joiner', {
        databaseName: evil(`joiner${i}`),
        roles: [{ name: role('b_login'), login: true, memberOf: [target] }],
      });
      const d = await readyIs(nsB, 'joiner', 'False', 'NotAllowed');
      assert.match(readyMessage(d), expected);
      const members = await sql(
        'postgres',
        `select 1 from pg_auth_members am join pg_roles m on m.oid = am.member join pg_roles g on g.oid = am.roleid
          where m.rolname = $1 and g.rolname = $2`,
        [role('b_login'), target],
      );
      assert.deepEqual(members, [], `no membership of ${target}`);
      assert.equal(await roleExists(role('b_login')), false);
      await client.delete(DatabaseType, { namespace: nsB, name: 'joiner' });
      await eventually('joiner gone', async () => (await get(nsB, 'joiner')) === undefined);
    }
    // A plain role the platform lists is joinable.
    await createDatabase(nsB, 'joiner', {
      databaseName: evil('joiner'),
      roles: [{ name: role('b_login'), login: true, memberOf: [role('reporting')] }],
    });
    await readyIs(nsB, 'joiner', 'True');
    const joined = await sql(
      'postgres',
      `select 1 from pg_auth_members am join pg_roles m on m.oid = am.member join pg_roles g on g.oid = am.roleid
        where m.rolname = $1 and g.rolname = $2`,
      [role('b_login'), role('reporting')],
    );
    assert.equal(joined.length, 1);
    await client.delete(DatabaseType, { namespace: nsB, name: 'joiner' });
    await eventually('joiner gone', async () => (await get(nsB, 'joiner')) === undefined, 60_000);
  });

  it("cannot take another tenant's database, nor its roles' future objects", async () => {
    await createDatabase(nsB, 'steal', {
      databaseName: victimDb,
      roles: [{ name: role('b_thief'), login: true }],
      tablePrivileges: [{ role: role('b_thief'), table: 'app.orders', privileges: ['SELECT', 'DELETE'] }],
      rowSecurity: [{ table: 'app.orders', enabled: false }],
    });
    const d = await readyIs(nsB, 'steal', 'False', 'DatabaseOwnedElsewhere');
    assert.match(readyMessage(d), new RegExp(`database ${victimDb} belongs to Database ${nsA}/shop`));
    assert.equal(await roleExists(role('b_thief')), false);
    const [rls] = await sql<{ on: boolean }>(
      victimDb,
      `select relrowsecurity as on from pg_class where oid = 'app.orders'::regclass`,
    );
    assert.equal(rls?.on, true, "team-a's row security is still on");
    assert.equal(await victimSees(), 'ok [{"item":"mine"}]', "team-a's reader still sees only its rows");
    await client.delete(DatabaseType, { namespace: nsB, name: 'steal' });

    // In its own database, team-b cannot set default privileges for team-a's role.
    await createDatabase(nsB, 'defaults', {
      databaseName: evil('defaults'),
      schemas: ['app'],
      roles: [{ name: role('b_user') }],
      defaultPrivileges: [
        { role: role('b_user'), schema: 'app', objects: 'TABLES', privileges: ['SELECT'], creator: role('a_owner') },
      ],
    });
    const refused = await readyIs(nsB, 'defaults', 'False', 'NotAllowed');
    assert.match(
      readyMessage(refused),
      new RegExp(`defaultPrivileges\\[0\\]\\.creator: ${role('a_owner')} is not a role of this Database`),
    );
    const acl = await sql(evil('defaults'), `select 1 from pg_default_acl where defaclrole = $1::regrole`, [
      role('a_owner'),
    ]);
    assert.deepEqual(acl, []);
    await client.delete(DatabaseType, { namespace: nsB, name: 'defaults' });
  });

  it("cannot become superuser by planting an operator where the operator's queries look", async () => {
    // CVE-2018-1058's pattern: a tenant may create objects in its database's public schema (the
    // owner role can grant that), and `name || name` written there would run, as the caller,
    // inside the catalog queries of the next reconcile, which connects as the superuser.
    await createDatabase(nsB, 'path', {
      databaseName: evil('path'),
      roles: [{ name: role('b_pa'), login: true }],
      schemaPrivileges: [{ role: role('b_pa'), schema: 'public', privileges: ['USAGE', 'CREATE'] }],
    });
    await readyIs(nsB, 'path', 'True');
    const pw = await passwordOf(nsB, `path-${role('b_pa').replace(/_/g, '-')}`);
    const planted = await as(
      role('b_pa'),
      pw,
      evil('path'),
      `CREATE FUNCTION public.cat(name, name) RETURNS text LANGUAGE plpgsql AS $f$
         BEGIN
           BEGIN EXECUTE 'ALTER ROLE ${role('b_pa')} SUPERUSER'; EXCEPTION WHEN others THEN NULL; END;
           RETURN $1::text OPERATOR(pg_catalog.||) $2::text;
         END $f$;
       CREATE OPERATOR public.|| (LEFTARG = name, RIGHTARG = name, FUNCTION = public.cat)`,
    );
    assert.match(planted, /^ok/);
    await client.mergePatch(DatabaseType, { namespace: nsB, name: 'path' }, { spec: { schemas: ['app'] } });
    await eventually('path at generation 2', async () => {
      const d = await readyIs(nsB, 'path', 'True');
      return d.metadata.generation === 2 && d;
    });
    const [r] = await sql<{ rolsuper: boolean }>('postgres', 'select rolsuper from pg_roles where rolname = $1', [
      role('b_pa'),
    ]);
    assert.equal(r?.rolsuper, false, 'the planted operator never ran as the superuser');
    await client.delete(DatabaseType, { namespace: nsB, name: 'path' });
  });

  it("grants only on its own roles' objects, even when the spec passes every check", async () => {
    const before = await sql<{ acl: string | null }>(
      'postgres',
      `select relacl::text as acl from pg_class where oid = 'pg_authid'::regclass`,
    );
    await createDatabase(nsB, 'grants', {
      databaseName: evil('grants'),
      roles: [{ name: role('b_g') }],
      tablePrivileges: [{ role: role('b_g'), table: 'pg_catalog.pg_authid', privileges: ['SELECT'] }],
    });
    const d = await readyIs(nsB, 'grants', 'False', 'ApplyFailed');
    assert.match(
      readyMessage(d),
      /permission denied for table pg_authid: the owner role plinth_\w+ acts only for objects owned by this Database's roles/,
    );
    const after_ = await sql<{ acl: string | null }>(
      'postgres',
      `select relacl::text as acl from pg_class where oid = 'pg_authid'::regclass`,
    );
    assert.deepEqual(after_, before, 'pg_authid is granted to nobody new');
    assert.equal(await roleExists(role('b_g')), false, 'the failed plan left nothing behind');
    await client.delete(DatabaseType, { namespace: nsB, name: 'grants' });
  });

  it('cannot declare a role another Database manages', async () => {
    await createDatabase(nsB, 'dup', { databaseName: evil('dup'), roles: [{ name: role('a_reader'), login: true }] });
    const d = await readyIs(nsB, 'dup', 'False', 'NotAllowed');
    assert.match(
      readyMessage(d),
      new RegExp(`roles: ${role('a_reader')} belongs to Database ${nsA}/shop; choose another name`),
    );
    assert.equal(await victimSees(), 'ok [{"item":"mine"}]', "team-a's reader still logs in with its own password");
    await client.delete(DatabaseType, { namespace: nsB, name: 'dup' });
  });

  it('cannot adopt a database that belongs to no Database until an administrator hands it over', async () => {
    await sql('postgres', `CREATE DATABASE ${evil('orphan')}`);
    await createDatabase(nsB, 'orphan', { databaseName: evil('orphan'), roles: [{ name: role('b_orphan') }] });
    const d = await readyIs(nsB, 'orphan', 'False', 'DatabaseNotAdopted');
    const handover = /a database administrator runs: (COMMENT ON DATABASE .*)$/.exec(readyMessage(d))?.[1];
    assert.ok(handover, readyMessage(d));
    await sql('postgres', handover);
    // The refusal is terminal: the next edit of the Database picks the handover up.
    await client.mergePatch(DatabaseType, { namespace: nsB, name: 'orphan' }, { spec: { schemas: ['app'] } });
    const adopted = await readyIs(nsB, 'orphan', 'True');
    const [owner] = await sql<{ owner: string }>(
      'postgres',
      `select pg_get_userbyid(datdba) as owner from pg_database where datname = $1`,
      [evil('orphan')],
    );
    assert.equal(owner?.owner, adopted.status?.ownerRole, 'the owner role now owns the adopted database');
    await client.delete(DatabaseType, { namespace: nsB, name: 'orphan' });
  });

  it('a namespace the server is not offered to cannot use it', async () => {
    await createDatabase(nsC, 'other', { roles: [] });
    const d = await readyIs(nsC, 'other', 'False', 'ConnectionSecretNotFound');
    assert.match(
      readyMessage(d),
      new RegExp(`serverRef: database server shared-pg is not offered to namespace ${nsC}`),
    );
  });

  it('an untrusted extension is refused; the owner role creates only trusted ones', async () => {
    const available = await sql<{ name: string; trusted: boolean }>(
      'postgres',
      `select name, bool_or(trusted) as trusted from pg_available_extension_versions
        where name in ('adminpack', 'file_fdw', 'pgcrypto') group by name`,
    );
    const untrusted = available.find((e) => !e.trusted)?.name ?? 'plpython3u';
    await createDatabase(nsB, 'ext', { databaseName: evil('ext'), extensions: [untrusted], roles: [] });
    const d = await readyIs(nsB, 'ext', 'False', 'ExtensionNotAllowed');
    assert.match(readyMessage(d), new RegExp(`extensions: ${untrusted} cannot be created`));
    const ext = await sql(evil('ext'), 'select 1 from pg_extension where extname = $1', [untrusted]);
    assert.deepEqual(ext, []);
    await client.delete(DatabaseType, { namespace: nsB, name: 'ext' });
  });
});

describe('status shows no secret and does not spin', () => {
  it('masks a password with a backslash and a quote in status', async () => {
    const password = `back\\slash'quote-${run}`;
    await client.create(Resources.Secret, {
      metadata: { name: `pw-${role('b_pw').replace(/_/g, '-')}`, namespace: nsB },
      stringData: { username: role('b_pw'), password },
    } as KubeObject);
    await createDatabase(nsB, 'pw', { databaseName: evil('pw'), roles: [{ name: role('b_pw'), login: true }] });
    const d = await readyIs(nsB, 'pw', 'True');
    const plan = (d.status?.lastAppliedPlan ?? []).join('\n');
    assert.match(plan, new RegExp(`CREATE ROLE "${role('b_pw')}" LOGIN PASSWORD '\\*\\*\\*'`));
    assert.ok(!plan.includes('slash'), `no part of the password in status: ${plan}`);
    assert.match(await as(role('b_pw'), password, evil('pw'), 'select 1 as one'), /^ok/, 'the password logs in');
    assert.match(
      await as(role('b_pw'), password, victimDb, 'select 1 as one'),
      new RegExp(`permission denied for database "${victimDb}"`),
      "a login role cannot even connect to another tenant's database",
    );
    await client.delete(DatabaseType, { namespace: nsB, name: 'pw' });
  });

  it('a failing apply writes its status once, not once per retry', async () => {
    await createDatabase(nsB, 'failing', {
      databaseName: evil('failing'),
      roles: [{ name: role('b_f') }],
      tablePrivileges: [{ role: role('b_f'), table: 'app.missing', privileges: ['SELECT'] }],
    });
    const d = await readyIs(nsB, 'failing', 'False', 'ApplyFailed');
    assert.doesNotMatch(readyMessage(d), /retrying in/);
    const versions = new Set<string>();
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      versions.add((await get(nsB, 'failing'))?.metadata.resourceVersion ?? '');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(versions.size <= 2, `the status changed ${versions.size} times in 5 s while failing the same way`);
    await client.delete(DatabaseType, { namespace: nsB, name: 'failing' });
  });
});

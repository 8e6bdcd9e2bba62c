// A permissioned GraphQL API end to end, on the ground's API server and PostgreSQL: a Database
// declares the roles, grants and RLS policies; a GraphQLApi over it makes the operator render
// the server's config Secret, Deployment and Service, and the gateway route it. kwok pods do
// not run, so the server is started in this process from the config Secret the operator
// rendered, and every request below goes to it over HTTP.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DatabaseKind, type DatabaseObject, GraphQLApiKind, type GraphqlConfig } from '@plinth/api';
import { KubeBackend } from '@plinth/gateway';
import { build as buildApi, type GraphqlApi } from '@plinth/graphql';
import { eventually, groundPg, groundPgSecretData, requireGround } from '@plinth/ground';
import { getCondition, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { useOperator } from '@plinth/operator/testing';
import { DATABASE_MARKER } from '@plinth/pg-access';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';

const run = Math.random().toString(36).slice(2, 7);
const dbName = `notes_${run}`;
const role = (n: string) => `g${run}_${n}`;
const SECRET = `jwt-secret-${run}-${'x'.repeat(32)}`;
let api: GraphqlApi;
let server: Server;
let url: string;
let rendered: GraphqlConfig;
let admin: Server;
let adminUrl: string;

const sign = (claims: Record<string, unknown>, opts: { secret?: string; expiresIn?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(opts.secret ?? SECRET));
const userToken = (sub: string) => sign({ sub, role: role('user') });

async function gql(query: string, token?: string, variables?: Record<string, unknown>, at = url) {
  const res = await fetch(at, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
  return { status: res.status, ...body };
}
/** Creates a GraphQLApi over the notes Database, connecting as the authenticator. */
const createApi = (name: string, spec: Record<string, unknown>) =>
  t.client.create(resourceOf(GraphQLApiKind), {
    apiVersion: GraphQLApiKind.apiVersion,
    kind: GraphQLApiKind.kind,
    metadata: { name, namespace: t.ns },
    spec: {
      databaseRef: { name: 'notes' },
      authenticator: role('auth'),
      schemas: ['app'],
      jwt: { secretRef: { name: 'jwt', key: 'secret' } },
      ...spec,
    },
  } as KubeObject);
const NOTES = '{ allNotes(orderBy: ROW_ID_ASC) { nodes { rowId owner body } } }';
const notesOf = async (token?: string, at = url) => {
  const r = await gql(NOTES, token, undefined, at);
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return (r.data?.allNotes as { nodes: { rowId: number; owner: string; body: string }[] } | undefined)?.nodes ?? [];
};

const t = useOperator('gql', {
  beforeStop: async () => {
    server?.close();
    admin?.close();
    await api?.close();
    // The Database's finalizer needs the operator: delete it while the operator still runs.
    await t.client.delete(resourceOf(DatabaseKind), { namespace: t.ns, name: 'notes' });
    await eventually(
      'the Database is gone',
      async () =>
        (await t.client.get(resourceOf(DatabaseKind), { namespace: t.ns, name: 'notes' })) ? undefined : true,
      60_000,
    );
  },
});

before(async () => {
  await t.ready;
  await requireGround('postgres');
  await t.client.create(Resources.Secret, {
    metadata: { name: 'pg-admin', namespace: t.ns },
    stringData: groundPgSecretData(),
  } as KubeObject);
  await t.client.create(Resources.Secret, {
    metadata: { name: 'jwt', namespace: t.ns },
    stringData: { secret: SECRET },
  } as KubeObject);
  // The Database first makes the database, its schema and roles; the application's migration
  // then runs as its own login role; access to the table is declared once the table exists.
  const roles = [
    { name: role('user') },
    { name: role('anon') },
    { name: role('auth'), login: true, inherit: false, memberOf: [role('user'), role('anon')] },
    { name: role('migrator'), login: true },
  ];
  await t.client.create(resourceOf(DatabaseKind), {
    apiVersion: DatabaseKind.apiVersion,
    kind: DatabaseKind.kind,
    metadata: { name: 'notes', namespace: t.ns },
    spec: {
      connectionSecretRef: { name: 'pg-admin' },
      databaseName: dbName,
      schemas: ['app'],
      roles,
      schemaPrivileges: [{ role: role('migrator'), schema: 'app', privileges: ['USAGE', 'CREATE'] }],
    },
  } as KubeObject);
  const migratorPassword = await eventually(
    "the migrator's password, once its role exists",
    async () => {
      const d = await t.client.get<DatabaseObject & KubeObject>(resourceOf(DatabaseKind), {
        namespace: t.ns,
        name: 'notes',
      });
      if (getCondition(d?.status?.conditions, 'Ready')?.status !== 'True') return undefined;
      const s = await t.client.get<KubeObject & { data?: Record<string, string> }>(Resources.Secret, {
        namespace: t.ns,
        name: `notes-${role('migrator').replace(/_/g, '-')}`,
      });
      return s?.data?.password && Buffer.from(s.data.password, 'base64').toString('utf8');
    },
    60_000,
  );
  const migrator = new pg.Client(groundPg(dbName, { user: role('migrator'), password: migratorPassword }));
  await migrator.connect();
  await migrator.query(`
    CREATE TABLE app.notes (
      id serial PRIMARY KEY,
      owner text NOT NULL DEFAULT current_setting('jwt.claims.sub', true),
      body text NOT NULL,
      public boolean NOT NULL DEFAULT false);
    INSERT INTO app.notes (owner, body, public) VALUES
      ('alice', 'alice private', false), ('alice', 'alice public', true), ('bob', 'bob private', false);`);
  await migrator.end();
  await t.client.mergePatch(
    resourceOf(DatabaseKind),
    { namespace: t.ns, name: 'notes' },
    {
      spec: {
        schemaPrivileges: [
          { role: role('user'), schema: 'app', privileges: ['USAGE'] },
          { role: role('anon'), schema: 'app', privileges: ['USAGE'] },
          { role: role('migrator'), schema: 'app', privileges: ['USAGE', 'CREATE'] },
        ],
        tablePrivileges: [
          { role: role('user'), table: 'app.notes', privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] },
          { role: role('anon'), table: 'app.notes', privileges: ['SELECT'] },
        ],
        sequencePrivileges: [{ role: role('user'), sequence: 'app.notes_id_seq', privileges: ['USAGE'] }],
        rowSecurity: [{ table: 'app.notes', enabled: true }],
        policies: [
          {
            table: 'app.notes',
            name: 'own_notes',
            roles: [role('user')],
            using: "owner = current_setting('jwt.claims.sub', true)",
            withCheck: "owner = current_setting('jwt.claims.sub', true)",
          },
          { table: 'app.notes', name: 'public_notes', command: 'SELECT', roles: [role('anon')], using: 'public' },
        ],
      },
    },
  );
  await eventually(
    'the Database applies its access at generation 2',
    async () => {
      const d = await t.client.get<DatabaseObject & KubeObject>(resourceOf(DatabaseKind), {
        namespace: t.ns,
        name: 'notes',
      });
      const c = getCondition(d?.status?.conditions, 'Ready');
      return c?.status === 'True' && c.observedGeneration === 2;
    },
    60_000,
  );
  await createApi('notes', { roles: [role('user')], anonymousRole: role('anon'), limits: { maxDepth: 6 } });
  await assert.rejects(
    createApi('both', {
      roles: [role('user')],
      jwt: { secretRef: { name: 'jwt', key: 'secret' }, jwksUri: 'https://dex.example.test/keys' },
    }),
    /set exactly one of jwt.secretRef \(shared secret\) or jwt.jwksUri/,
    'the API server refuses a GraphQLApi with two key sources',
  );
  const config = await eventually(
    'the operator renders the GraphQL API config Secret',
    async () => {
      const s = await t.client.get<KubeObject & { data?: Record<string, string> }>(Resources.Secret, {
        namespace: t.ns,
        name: 'gql-notes-config',
      });
      const json = s?.data?.['graphql.json'];
      return json ? (JSON.parse(Buffer.from(json, 'base64').toString('utf8')) as GraphqlConfig) : undefined;
    },
    60_000,
  );
  rendered = config;
  api = buildApi(config);
  await api.ready();
  server = createServer(api.listener).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  admin = createServer(api.adminListener).listen(0, '127.0.0.1');
  await new Promise((r) => admin.once('listening', r));
  adminUrl = `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
});

// Once the operator has stopped and the namespace is going.
after(async () => {
  const root = new pg.Client(groundPg('postgres'));
  await root.connect();
  await root.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  for (const n of ['auth', 'user', 'anon', 'migrator']) await root.query(`DROP ROLE IF EXISTS ${role(n)}`);
  const owners = await root.query<{ rolname: string }>(
    `SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') = $1`,
    [`${DATABASE_MARKER}${t.ns}/notes`],
  );
  for (const r of owners.rows) await root.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r.rolname)}`);
  await root.end();
});

describe('GraphQLApi', () => {
  it('is rendered as a least-privileged server the gateway routes to', async () => {
    assert.equal(rendered.database.user, role('auth'), 'connects as the authenticator');
    assert.equal(rendered.database.database, dbName);
    assert.match(rendered.database.password, /^[A-Za-z0-9_-]{32}$/, "the authenticator's generated password");
    assert.equal(rendered.jwt?.secret, SECRET);
    assert.deepEqual(rendered.roles, [role('user')]);
    // The authenticator itself can read nothing: it only switches role.
    const direct = new pg.Client(
      groundPg(dbName, { user: rendered.database.user, password: rendered.database.password }),
    );
    await direct.connect();
    await assert.rejects(direct.query('SELECT * FROM app.notes'), /permission denied/);
    await direct.end();
    const d = await t.client.get<KubeObject & { spec: { template: { spec: Record<string, unknown> } } }>(
      Resources.Deployment,
      { namespace: t.ns, name: 'gql-notes' },
    );
    assert.equal(d?.spec.template.spec.automountServiceAccountToken, false);
    const svc = await t.client.get(Resources.Service, { namespace: t.ns, name: 'gql-notes' });
    assert.equal(svc?.metadata?.labels?.['app.kubernetes.io/managed-by'], 'plinth');
    const status = await eventually(
      'GraphQLApi status.url',
      async () =>
        (
          await t.client.get<KubeObject & { status?: { url?: string } }>(resourceOf(GraphQLApiKind), {
            namespace: t.ns,
            name: 'notes',
          })
        )?.status,
      30_000,
    );
    assert.equal(status.url, `http://plinth-gateway.plinth-system.svc/graphql/${t.ns}/notes`);
    const backend = new KubeBackend({ client: t.client, namespace: t.ns });
    await backend.start();
    try {
      const route = backend.routes().find((r) => r.function === `${t.ns}/notes`);
      assert.deepEqual(route && { prefix: route.prefix, targets: route.targets }, {
        prefix: `/graphql/${t.ns}/notes`,
        targets: [{ revision: `${t.ns}/gql-notes`, percent: 100 }],
      });
    } finally {
      backend.stop();
    }
  });

  it("a user's JWT sees and changes only that user's rows", async () => {
    const alice = await userToken('alice');
    const bob = await userToken('bob');
    assert.deepEqual(
      (await notesOf(alice)).map((n) => n.body),
      ['alice private', 'alice public'],
    );
    assert.deepEqual(
      (await notesOf(bob)).map((n) => n.body),
      ['bob private'],
    );
    const created = await gql(
      'mutation($body: String!) { createNote(input: { note: { body: $body } }) { note { owner body } } }',
      alice,
      { body: 'alice new' },
    );
    assert.deepEqual(created.data?.createNote, { note: { owner: 'alice', body: 'alice new' } });
    const forged = await gql(
      `mutation { createNote(input: { note: { owner: "bob", body: "from alice" } }) { note { owner } } }`,
      alice,
    );
    assert.match(forged.errors?.[0]?.message ?? '', /row-level security/);
    const bobsRow = (await notesOf(bob))[0]?.rowId;
    const hijack = await gql(
      `mutation { updateNoteByRowId(input: { rowId: ${bobsRow}, notePatch: { body: "mine now" } }) { note { body } } }`,
      alice,
    );
    assert.deepEqual(hijack.data, { updateNoteByRowId: { note: null } }, 'a row she cannot see is not updated');
    const wipe = await gql(`mutation { deleteNoteByRowId(input: { rowId: ${bobsRow} }) { note { body } } }`, alice);
    assert.match(wipe.errors?.[0]?.message ?? '', /No values were deleted/, 'nor deleted');
    assert.deepEqual(
      (await notesOf(bob)).map((n) => n.body),
      ['bob private'],
      "bob's row is untouched",
    );
  });

  it('no token gets the anonymous role: public rows only, no writes', async () => {
    assert.deepEqual(
      (await notesOf()).map((n) => n.body),
      ['alice public'],
    );
    const write = await gql('mutation { createNote(input: { note: { body: "anon" } }) { note { body } } }');
    assert.match(write.errors?.[0]?.message ?? '', /permission denied/);
  });

  it('a tampered, expired, wrongly signed or malformed token gets 401; a role it may not assume gets 403', async () => {
    const alice = await userToken('alice');
    const [h, , s] = alice.split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'bob', role: role('user'), exp: 4102444800 })).toString(
      'base64url',
    );
    const cases: [string, string, number][] = [
      ['tampered', `${h}.${payload}.${s}`, 401],
      ['expired', await sign({ sub: 'alice', role: role('user') }, { expiresIn: '-2m' }), 401],
      ['wrong key', await sign({ sub: 'alice', role: role('user') }, { secret: `not-${SECRET}` }), 401],
      ['not a JWT', 'hello', 401],
      ['role not allowed', await sign({ sub: 'alice', role: role('auth') }), 403],
      ['no role', await sign({ sub: 'alice' }), 403],
    ];
    const got: [string, number, boolean][] = [];
    for (const [name, token, status] of cases) {
      const r = await gql(NOTES, token);
      got.push([name, r.status, r.data === undefined]);
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.errors)}`);
    }
    assert.deepEqual(
      got,
      cases.map(([name, , status]) => [name, status, true]),
    );
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    assert.match(metrics, /plinth_graphql_auth_failures_total\{reason="expired"\} 1/);
    assert.equal((await fetch(url.replace('/graphql', '/metrics'))).status, 404, 'metrics stay off the routed port');
    assert.match(metrics, /plinth_graphql_auth_failures_total\{reason="bad-signature"\} 2/);
  });

  it('refuses introspection and queries past the depth or cost limit', async () => {
    const alice = await userToken('alice');
    const intro = await gql('{ __schema { types { name } } }', alice);
    assert.match(intro.errors?.[0]?.message ?? '', /introspection/i);
    const deep = await gql(
      '{ query { query { query { query { query { query { allNotes { nodes { body } } } } } } } } }',
      alice,
    );
    assert.match(deep.errors?.[0]?.message ?? '', /Query depth limit of 6 exceeded, found 9/);
    assert.equal(deep.data, undefined);
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    assert.match(metrics, /plinth_graphql_rejected_total\{limit="depth"\} 1/);
    // A cost ceiling below what the query costs refuses it before execution.
    const cheap = buildApi({ ...rendered, limits: { maxCost: 3 } });
    await cheap.ready();
    const s = createServer(cheap.listener).listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    try {
      const costly = await gql(
        NOTES,
        alice,
        undefined,
        `http://127.0.0.1:${(s.address() as AddressInfo).port}/graphql`,
      );
      assert.match(costly.errors?.[0]?.message ?? '', /Query Cost limit of 3 exceeded/);
      assert.equal(costly.data, undefined);
    } finally {
      s.close();
      await cheap.close();
    }
  });
});

describe('plinth-graphql as a process', () => {
  it('starts from the rendered config file, serves, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-graphql-'));
    const file = join(dir, 'graphql.json');
    writeFileSync(file, JSON.stringify(rendered), { mode: 0o600 });
    // Two free ports, held together while they are picked so they differ.
    const probes = [createServer().listen(0, '127.0.0.1'), createServer().listen(0, '127.0.0.1')];
    await Promise.all(probes.map((p) => new Promise((r) => p.once('listening', r))));
    const [port, adminPort] = probes.map((p) => (p.address() as AddressInfo).port);
    await Promise.all(probes.map((p) => new Promise((r) => p.close(r))));
    const main = join(import.meta.dirname, '..', '..', 'apps', 'graphql', 'src', 'main.ts');
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        PLINTH_GRAPHQL_CONFIG: file,
        PORT: String(port),
        PLINTH_ADMIN_PORT: String(adminPort),
        HOST: '127.0.0.1',
        PLINTH_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    let log = '';
    child.stdout.on('data', (d) => {
      log += d;
    });
    child.stderr.on('data', (d) => {
      log += d;
    });
    try {
      const at = `http://127.0.0.1:${port}`;
      await eventually(
        'plinth-graphql answers /healthz',
        () =>
          fetch(`${at}/healthz`).then(
            (r) => r.ok || undefined,
            () => undefined,
          ),
        30_000,
      );
      assert.deepEqual(
        (await notesOf(undefined, `${at}/graphql`)).map((n) => n.body),
        ['alice public'],
      );
      const metrics = await fetch(`http://127.0.0.1:${adminPort}/metrics`).then(
        (r) => r.text(),
        (e: Error) => assert.fail(`metrics on ${adminPort}: ${e.message}; process output: ${log}`),
      );
      assert.match(metrics, /plinth_graphql_requests_total\{code="200"\} 1/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    // A config it cannot serve: exit 2 with every problem named, before connecting anywhere.
    writeFileSync(file, JSON.stringify({ ...rendered, schemas: [], limits: { maxDepth: 0 } }));
    const bad = spawn(process.execPath, [main], {
      env: { ...process.env, PLINTH_GRAPHQL_CONFIG: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    bad.stdout.on('data', (d) => {
      out += d;
    });
    assert.equal(await new Promise((r) => bad.once('exit', r)), 2);
    assert.match(out, /GraphQL API config \/schemas: Expected array length to be greater or equal to 1/);
    assert.match(out, /GraphQL API config \/limits\/maxDepth: Expected integer to be greater or equal to 1/);
  });
});

describe('GraphQL API with an OIDC issuer', () => {
  it('verifies tokens against the issuer JWKS and rejects other keys', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const other = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    }).listen(0, '127.0.0.1');
    await new Promise((r) => jwks.once('listening', r));
    const issuer = 'https://dex.example.test';
    const oidc = buildApi({
      ...rendered,
      jwt: { jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`, issuer, audience: 'notes' },
    });
    await oidc.ready();
    const s = createServer(oidc.listener).listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    const at = `http://127.0.0.1:${(s.address() as AddressInfo).port}/`;
    const token = (key: Parameters<SignJWT['sign']>[0], claims: Record<string, unknown> = {}) =>
      new SignJWT({ sub: 'bob', role: role('user'), ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuer)
        .setAudience('notes')
        .setExpirationTime('5m')
        .sign(key);
    try {
      assert.deepEqual(
        (await notesOf(await token(privateKey), at)).map((n) => n.body),
        ['bob private'],
      );
      assert.equal((await gql(NOTES, await token(other.privateKey), undefined, at)).status, 401);
      const wrongAudience = await new SignJWT({ sub: 'bob', role: role('user') })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuer)
        .setAudience('billing')
        .setExpirationTime('5m')
        .sign(privateKey);
      assert.equal((await gql(NOTES, wrongAudience, undefined, at)).status, 401);
    } finally {
      s.close();
      jwks.close();
      await oidc.close();
    }
  });
});

it('the Database must declare the authenticator as a member of the roles, or the API waits and says so', async () => {
  await createApi('stranger', { roles: [role('admin')] });
  const c = await eventually(
    'a Ready=False condition naming the missing membership',
    async () => {
      const a = await t.client.get<KubeObject & { status?: { conditions?: [] } }>(resourceOf(GraphQLApiKind), {
        namespace: t.ns,
        name: 'stranger',
      });
      const ready = getCondition(a?.status?.conditions, 'Ready');
      return ready?.reason === 'AuthenticatorNotMember' ? ready : undefined;
    },
    30_000,
  );
  assert.match(c.message ?? '', new RegExp(`must be a member of ${role('admin')}`));
});

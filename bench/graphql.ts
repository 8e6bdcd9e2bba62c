// Permissioned GraphQL vs plain PostGraphile, same query, same database, same run. The
// permissioned API verifies an HS256 JWT, then runs the query inside a transaction as the
// token's role with its claims set, under an RLS policy (owner = jwt.claims.sub); the plain
// one is PostGraphile with no auth, connected as the table owner (RLS does not apply). Both
// return the same 20 rows. Arms alternate twice; each arm's rps is the mean of its runs.
// Needs the ground's PostgreSQL (test/ground/up).
// Last line: {"ratio", "permissionedRps", "plainRps", "permissionedP50Ms", "plainP50Ms"}.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GraphqlConfig } from '@plinth/api';
import { build, type GraphqlApi } from '@plinth/graphql';
import { ground, groundPg, requireGround } from '@plinth/ground';
import { applyDeclaration } from '@plinth/pg-access';
import { SignJWT } from 'jose';
import pg from 'pg';
import { pino } from 'pino';
import { type LoadResult, load, round } from './lib/util.ts';

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const DB = 'bench_graphql';
const SECRET = 'bench-secret-bench-secret-bench-secret';
const OWNER = 'bench/graphql';

await requireGround('postgres');
const root = new pg.Client(groundPg('postgres'));
await root.connect();
await root.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
await root.query(`CREATE DATABASE ${DB}`);
await root.end();
const admin = new pg.Client(groundPg(DB));
await admin.connect();
await admin.query(`
  CREATE SCHEMA app;
  CREATE TABLE app.notes (id serial PRIMARY KEY, owner text NOT NULL, body text NOT NULL);
  CREATE INDEX ON app.notes (owner, id);
  INSERT INTO app.notes (owner, body) SELECT 'user' || (i % 20), 'note ' || i FROM generate_series(1, 2000) i;
  ANALYZE app.notes;`);
await applyDeclaration(
  admin,
  {
    roles: [
      { name: 'bench_user' },
      { name: 'bench_auth', login: true, password: 'bench-auth-pw', memberOf: ['bench_user'] },
    ],
    schemas: [{ role: 'bench_user', schema: 'app', privileges: ['USAGE'] }],
    tables: [{ role: 'bench_user', table: 'app.notes', privileges: ['SELECT'] }],
    rowSecurity: [{ table: 'app.notes', enabled: true }],
    policies: [
      {
        table: 'app.notes',
        name: 'own_notes',
        command: 'SELECT',
        roles: ['bench_user'],
        using: "owner = current_setting('jwt.claims.sub', true)",
      },
    ],
  },
  OWNER,
);

const ca = readFileSync(ground('PGSSLROOTCERT'), 'utf8');
const server = { host: ground('PGHOST'), port: Number(ground('PGPORT')), database: DB, ca };
const logger = pino({ level: 'warn' });
const permissionedConfig: GraphqlConfig = {
  database: { ...server, user: 'bench_auth', password: 'bench-auth-pw' },
  schemas: ['app'],
  roles: ['bench_user'],
  jwt: { secret: SECRET },
};
const plainConfig: GraphqlConfig = {
  database: { ...server, user: ground('PGUSER'), password: ground('PGPASSWORD') },
  schemas: ['app'],
};

async function serve(api: GraphqlApi): Promise<{ url: string; close: () => Promise<void> }> {
  await api.ready();
  const s = createServer(api.listener).listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/graphql`,
    close: async () => {
      s.close();
      await api.close();
    },
  };
}

const permissioned = await serve(build(permissionedConfig, { logger }));
const plain = await serve(build(plainConfig, { logger }));
const token = await new SignJWT({ sub: 'user7', role: 'bench_user' })
  .setProtectedHeader({ alg: 'HS256' })
  .setExpirationTime('1h')
  .sign(new TextEncoder().encode(SECRET));
const body = JSON.stringify({
  query: '{ allNotes(first: 20, orderBy: ROW_ID_ASC) { nodes { rowId owner body } } }',
});
const requests = {
  permissioned: {
    method: 'POST' as const,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  },
  plain: { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body },
};

// Both arms answer the query, with 20 rows; the permissioned one only user7's.
for (const [arm, url] of [
  ['permissioned', permissioned.url],
  ['plain', plain.url],
] as const) {
  const res = await fetch(url, requests[arm]);
  const json = (await res.json()) as { data?: { allNotes?: { nodes: { owner: string }[] } }; errors?: unknown };
  const nodes = json.data?.allNotes?.nodes ?? [];
  if (res.status !== 200 || nodes.length !== 20 || (arm === 'permissioned' && nodes.some((n) => n.owner !== 'user7'))) {
    throw new Error(`${arm} arm answered ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  }
}

const runs: Record<'permissioned' | 'plain', LoadResult[]> = { permissioned: [], plain: [] };
for (let round_ = 0; round_ < 2; round_++) {
  for (const arm of ['plain', 'permissioned'] as const) {
    const url = arm === 'plain' ? plain.url : permissioned.url;
    const r = await load(url, concurrency, seconds, 2, requests[arm]);
    if (r.errors) throw new Error(`${arm}: ${r.errors} requests failed`);
    console.error(`# ${arm} c=${concurrency}: ${JSON.stringify(r)}`);
    runs[arm].push(r);
  }
}
await permissioned.close();
await plain.close();
await applyDeclaration(admin, { roles: [] }, OWNER);
await admin.end();
const cleanup = new pg.Client(groundPg('postgres'));
await cleanup.connect();
await cleanup.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
await cleanup.end();

const mean = (xs: LoadResult[], k: 'rps' | 'p50Ms') => xs.reduce((a, x) => a + x[k], 0) / xs.length;
const permissionedRps = mean(runs.permissioned, 'rps');
const plainRps = mean(runs.plain, 'rps');
console.log(
  JSON.stringify({
    ratio: round(permissionedRps / plainRps),
    permissionedRps: round(permissionedRps, 1),
    plainRps: round(plainRps, 1),
    permissionedP50Ms: round(mean(runs.permissioned, 'p50Ms')),
    plainP50Ms: round(mean(runs.plain, 'p50Ms')),
    concurrency,
  }),
);

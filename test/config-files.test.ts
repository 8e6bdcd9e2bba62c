// The processes that read a config file (the Kafka trigger connector, plinth-graphql) refuse one
// that does not match its schema: they exit 2 at start, naming the field, before they reach
// Kafka or PostgreSQL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const connector = { main: 'apps/connector/src/main.ts', variable: 'PLINTH_CONNECTOR_CONFIG' };
const graphql = { main: 'apps/graphql/src/main.ts', variable: 'PLINTH_GRAPHQL_CONFIG' };

function start(app: { main: string; variable: string }, config: unknown) {
  const file = join(mkdtempSync(join(tmpdir(), 'plinth-config-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return spawnSync(process.execPath, [join(ROOT, app.main)], {
    env: { ...process.env, [app.variable]: file },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

const cases: { name: string; process: typeof connector; config: unknown; names: RegExp }[] = [
  {
    name: 'the connector, a field of the wrong type',
    process: connector,
    config: {
      name: 'shop/orders',
      bootstrapServers: ['kafka:9093'],
      topics: ['orders'],
      group: 'plinth.shop.orders',
      startFrom: 'latest',
      ordering: 'key',
      concurrency: '16',
      batchSize: 1,
      retry: { maxAttempts: 3, initialBackoffMs: 200, maxBackoffMs: 10_000 },
      target: 'http://gateway/fn/shop/ship',
    },
    names: /connector config \/concurrency: Expected integer/,
  },
  {
    name: 'plinth-graphql, a rule across fields',
    process: graphql,
    config: {
      database: { host: 'pg', port: 5432, database: 'app', user: 'api', password: 'pw' },
      schemas: ['app'],
      roles: ['app_user'],
      jwt: { roleClaim: 'role' },
    },
    names: /GraphQL API config \/jwt: set exactly one of secret or jwksUrl/,
  },
  {
    name: 'plinth-graphql, a field missing from a nested object',
    process: graphql,
    config: { database: { host: 'pg', port: 5432, user: 'api', password: 'pw' }, schemas: ['app'] },
    names: /GraphQL API config \/database\/database: Expected required property/,
  },
];

for (const c of cases) {
  it(`exits 2 naming the bad field: ${c.name}`, () => {
    const run = start(c.process, c.config);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stdout, c.names);
    assert.match(run.stdout, /"code":"PLINTH_CONFIG"/);
  });
}

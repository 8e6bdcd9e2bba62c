import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { ConfigError, configFile, type GraphqlConfig, GraphqlConfigFile, StringEnum } from '../src/index.ts';

const problems = (f: () => unknown): readonly string[] => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.code, 'PLINTH_CONFIG');
    return e.problems;
  }
  assert.fail('expected a ConfigError');
};

describe('configFile', () => {
  const file = configFile(
    'test config',
    Type.Object({
      kafka: Type.Object({ brokers: Type.Array(Type.String(), { minItems: 1 }) }),
      mode: StringEnum(['a', 'b'] as const),
      low: Type.Integer({ minimum: 0 }),
      high: Type.Integer({ minimum: 0 }),
    }),
    [{ field: 'low', check: (c) => c.low <= c.high, message: 'must not exceed high' }],
  );
  const good = { kafka: { brokers: ['k:9092'] }, mode: 'a', low: 1, high: 2 };

  it('passes a good document through, typed', () => {
    const c = file.check(structuredClone(good));
    assert.deepEqual(c, good);
    assert.equal(c.kafka.brokers[0], 'k:9092');
  });

  it('names each bad field by its JSON pointer, once', () => {
    const doc = { kafka: { brokers: [7] }, mode: 'c', high: 2 };
    assert.deepEqual(
      problems(() => file.check(doc)),
      ['/low: Expected required property', '/kafka/brokers/0: Expected string', '/mode: must be one of: a, b'],
    );
    assert.throws(() => file.check({ ...good, kafka: { brokers: [7] } }), {
      message: 'test config /kafka/brokers/0: Expected string',
    });
  });

  it('runs the rules once the shape is right', () => {
    assert.deepEqual(
      problems(() => file.check({ ...good, low: 3 })),
      ['/low: must not exceed high'],
    );
  });

  it('reads a file, naming it in the error; a missing or non-JSON file is a ConfigError too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plinth-config-'));
    const path = join(dir, 'c.json');
    writeFileSync(path, JSON.stringify(good));
    assert.deepEqual(file.read(path), good);
    writeFileSync(path, JSON.stringify({ ...good, low: 'one' }));
    assert.throws(() => file.read(path), { message: `${path}: test config /low: Expected integer` });
    writeFileSync(path, '{ not json');
    assert.throws(() => file.read(path), {
      name: 'ConfigError',
      message: /c\.json: test config is not a readable JSON file/,
    });
    assert.throws(() => file.read(join(dir, 'absent.json')), { name: 'ConfigError', message: /ENOENT/ });
  });
});

describe('GraphqlConfigFile', () => {
  const good: GraphqlConfig = {
    database: { host: 'pg.db.svc', port: 5432, database: 'app', user: 'api_auth', password: 'pw', sslmode: 'disable' },
    schemas: ['app'],
    roles: ['app_user'],
    jwt: { secret: 's3cret', roleClaim: 'role' },
    limits: { maxDepth: 12, maxCost: 5000 },
    introspection: false,
  };

  it('accepts a good config', () => {
    assert.deepEqual(GraphqlConfigFile.check(structuredClone(good)), good);
  });

  it('names the bad field', () => {
    const bad = structuredClone(good) as Record<string, unknown>;
    bad.database = { ...good.database, port: '5432', user: '' };
    bad.limits = { maxDepth: 0 };
    assert.deepEqual(
      problems(() => GraphqlConfigFile.check(bad)),
      [
        '/database/port: Expected integer',
        '/database/user: Expected string length greater or equal to 1',
        '/limits/maxDepth: Expected integer to be greater or equal to 1',
      ],
    );
    assert.deepEqual(
      problems(() => GraphqlConfigFile.check({ ...good, schemas: [] })),
      ['/schemas: Expected array length to be greater or equal to 1'],
    );
  });

  it('refuses jwt with both or neither of secret and jwksUrl, and jwt without roles', () => {
    const both = { ...good, jwt: { secret: 's', jwksUrl: 'https://issuer/jwks' } };
    assert.deepEqual(
      problems(() => GraphqlConfigFile.check(both)),
      ['/jwt: set exactly one of secret or jwksUrl'],
    );
    const noRoles = { ...good, roles: [] };
    assert.deepEqual(
      problems(() => GraphqlConfigFile.check(noRoles)),
      ['/roles: list the roles a token may assume (required with jwt)'],
    );
    const { jwt: _, roles: __, ...open } = good;
    assert.deepEqual(GraphqlConfigFile.check(open), open, 'without jwt, roles are optional');
  });
});

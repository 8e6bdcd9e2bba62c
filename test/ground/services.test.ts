// The ground's PostgreSQL, Kafka and OpenLDAP, reached the way Plinth's code will reach them:
// over TLS, with the clients Plinth depends on (pg, @platformatic/kafka, ldapts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { eventually, ground, groundKafka, groundPg, requireGround, uniqueName } from './env.ts';

describe('PostgreSQL', () => {
  it('accepts a query over verified TLS as the test superuser', async () => {
    await requireGround('postgres');
    const client = new pg.Client(groundPg('postgres'));
    await client.connect();
    try {
      const { rows } = await client.query<{ sum: number; ssl: boolean; superuser: boolean }>(
        `select 40 + $1::int as sum,
                (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl,
                (select rolsuper from pg_roles where rolname = current_user) as superuser`,
        [2],
      );
      assert.deepEqual(rows[0], { sum: 42, ssl: true, superuser: true });
    } finally {
      await client.end();
    }
  });
});

describe('Kafka over SASL_SSL', () => {
  const base = () => {
    const { sasl: _, ...tlsOnly } = groundKafka();
    return tlsOnly;
  };

  it('round-trips a message authenticated with SCRAM-SHA-512', async () => {
    await requireGround('kafka');
    const sasl = {
      mechanism: 'SCRAM-SHA-512' as const,
      username: ground('KAFKA_SASL_USER'),
      password: ground('KAFKA_SASL_PASSWORD'),
    };
    const topic = uniqueName('ground');
    const producer = new Producer({
      ...base(),
      clientId: 'ground-test',
      sasl,
      serializers: stringSerializers,
      autocreateTopics: true,
    });
    const consumer = new Consumer({
      ...base(),
      clientId: 'ground-test',
      groupId: uniqueName('ground-group'),
      sasl,
      deserializers: stringDeserializers,
    });
    try {
      await eventually(
        'the producer to send (topic auto-creation)',
        async () => {
          await producer.send({ messages: [{ topic, key: 'k', value: 'hello over SASL_SSL' }] });
          return true;
        },
        30_000,
        500,
      );
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true });
      const received = await new Promise<{ key: string; value: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
        stream.once('data', (m) => {
          clearTimeout(timer);
          resolve({ key: m.key, value: m.value });
        });
      });
      assert.deepEqual(received, { key: 'k', value: 'hello over SASL_SSL' });
      await stream.close();
    } finally {
      await consumer.close(true);
      await producer.close();
    }
  });

  it('refuses a wrong password with an authentication error', async () => {
    await requireGround('kafka');
    const producer = new Producer({
      ...base(),
      clientId: 'ground-test-bad',
      retries: 0,
      sasl: { mechanism: 'SCRAM-SHA-512', username: ground('KAFKA_SASL_USER'), password: 'not-the-password' },
      serializers: stringSerializers,
    });
    try {
      await assert.rejects(producer.send({ messages: [{ topic: 'never', value: 'x' }] }), (e: unknown) => {
        const codes = errorChain(e).map((x) => x.code);
        assert.ok(
          codes.includes('PLT_KFK_AUTHENTICATION'),
          `expected an authentication error, got ${codes.join(' > ')}`,
        );
        return true;
      });
    } finally {
      await producer.close();
    }
  });
});

/** The error, its AggregateError members and its causes, depth first. */
function errorChain(e: unknown): { code?: string; message: string }[] {
  if (!(e instanceof Error)) return [];
  const members = e instanceof AggregateError ? e.errors : [];
  return [
    { code: (e as { code?: string }).code, message: e.message },
    ...members.flatMap(errorChain),
    ...errorChain(e.cause),
  ];
}

describe('OpenLDAP', () => {
  it('binds as the service account and returns the seeded groups, nested and AD-shaped', async () => {
    await requireGround('ldap');
    const client = new LdapClient({
      url: ground('LDAPS_URL'),
      tlsOptions: { ca: readFileSync(ground('LDAP_CA_FILE')) },
    });
    try {
      await client.bind(ground('LDAP_BIND_DN'), ground('LDAP_BIND_PASSWORD'));
      // AD-style lookup of the user: sAMAccountName, and memberOf kept by the memberof overlay.
      const { searchEntries: users } = await client.search(ground('LDAP_USERS_DN'), {
        filter: '(sAMAccountName=alice)',
        attributes: ['dn', 'userPrincipalName', 'memberOf'],
      });
      assert.equal(users.length, 1);
      const alice = users[0];
      assert.equal(alice?.userPrincipalName, 'alice@plinth.test');
      assert.equal(alice?.memberOf, 'cn=backend,ou=groups,dc=plinth,dc=test');
      // OpenLDAP-style group search by member DN, then one level of nesting.
      const groupsOf = async (dn: string) =>
        (
          await client.search(ground('LDAP_GROUPS_DN'), {
            filter: `(&(objectClass=groupOfNames)(member=${dn}))`,
            attributes: ['cn'],
          })
        ).searchEntries.map((e) => ({ dn: e.dn, cn: String(e.cn) }));
      const direct = await groupsOf(alice?.dn ?? '');
      assert.deepEqual(
        direct.map((g) => g.cn),
        ['backend'],
      );
      const nested = await groupsOf(direct[0]?.dn ?? '');
      assert.deepEqual(
        nested.map((g) => g.cn),
        ['team-a-developers'],
      );
    } finally {
      await client.unbind();
    }
  });

  it('rejects a wrong password with invalid credentials', async () => {
    await requireGround('ldap');
    const client = new LdapClient({ url: ground('LDAP_URL') });
    await assert.rejects(
      client.bind('uid=alice,ou=people,dc=plinth,dc=test', 'wrong'),
      /Invalid Credentials|InvalidCredentials/i,
    );
    await client.bind('uid=alice,ou=people,dc=plinth,dc=test', ground('LDAP_TEST_USER_PASSWORD'));
    await client.unbind();
  });
});

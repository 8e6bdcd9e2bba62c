// Run by services.test.ts inside a pod's network namespace (nsenter --net): the clients Plinth
// depends on reach PostgreSQL, Kafka and OpenLDAP at the addresses pods use, from the pod's
// address, with its routes (no default route). Prints one JSON object.
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Client as LdapClient } from 'ldapts';
import pg from 'pg';
import { ground, groundPodKafka, groundPodPg, uniqueName } from '../env.ts';

async function postgres() {
  const client = new pg.Client(groundPodPg('postgres'));
  await client.connect();
  try {
    const { rows } = await client.query<{ client: string; ssl: boolean }>(
      `select inet_client_addr()::text as client,
              (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl`,
    );
    return rows[0];
  } finally {
    await client.end();
  }
}

async function kafka() {
  const topic = uniqueName('ground-pod');
  const producer = new Producer({
    ...groundPodKafka(),
    clientId: 'ground-pod',
    serializers: stringSerializers,
    autocreateTopics: true,
  });
  const consumer = new Consumer({
    ...groundPodKafka(),
    clientId: 'ground-pod',
    groupId: uniqueName('ground-pod-group'),
    deserializers: stringDeserializers,
  });
  try {
    for (let i = 0; ; i++) {
      try {
        await producer.send({ messages: [{ topic, key: 'k', value: 'from a pod' }] });
        break;
      } catch (e) {
        if (i > 40) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true });
    const value = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
      stream.once('data', (m) => {
        clearTimeout(timer);
        resolve(m.value);
      });
    });
    await stream.close();
    return { value };
  } finally {
    await consumer.close(true);
    await producer.close();
  }
}

async function ldap() {
  const client = new LdapClient({
    url: ground('POD_LDAPS_URL'),
    tlsOptions: { ca: readFileSync(ground('LDAP_CA_FILE')) },
  });
  try {
    await client.bind(ground('LDAP_BIND_DN'), ground('LDAP_BIND_PASSWORD'));
    const { searchEntries } = await client.search(ground('LDAP_USERS_DN'), {
      filter: '(sAMAccountName=alice)',
      attributes: ['userPrincipalName'],
    });
    return { userPrincipalName: searchEntries[0]?.userPrincipalName };
  } finally {
    await client.unbind();
  }
}

const addresses = Object.values(networkInterfaces())
  .flat()
  .filter((a) => a?.family === 'IPv4' && !a.internal)
  .map((a) => a?.address);
const settle = async (f: () => Promise<unknown>) => {
  try {
    return { ok: await f() };
  } catch (e) {
    return { error: String(e) };
  }
};
const [p, k, l] = await Promise.all([settle(postgres), settle(kafka), settle(ldap)]);
process.stdout.write(`${JSON.stringify({ addresses, postgres: p, kafka: k, ldap: l })}\n`);

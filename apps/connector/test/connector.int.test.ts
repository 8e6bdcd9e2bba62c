// The connector against the ground's real Kafka broker over SASL_SSL (SCRAM-SHA-512), with
// real function processes behind the gateway.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, requireGround, uniqueName } from '@plinth/ground';
import { pino } from 'pino';
import { build, ConnectorError } from '../src/app.ts';
import { connectorConfig, functions, produce, readTopic } from './support.ts';

const work = mkdtempSync(join(tmpdir(), 'plinth-connector-'));
const recordFile = join(work, 'record.log');
let fns: Awaited<ReturnType<typeof functions>>;
const silent = pino({ level: 'silent' });

before(async () => {
  await requireGround('kafka');
  writeFileSync(recordFile, '');
  fns = await functions(join(work, 'cache'), { record: { RECORD_FILE: recordFile, PAUSE_MS: '8' } });
});
after(async () => {
  await fns?.close();
});

const recorded = () =>
  readFileSync(recordFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [key, value] = l.split(' ');
      return { key: key ?? '', value: value ?? '' };
    });

describe('Kafka trigger connector', () => {
  it('delivers a message produced over SASL_SSL and puts the answer on the reply topic', async () => {
    const topic = uniqueName('in');
    const replies = uniqueName('replies');
    await produce(topic, [{ key: 'k1', value: 'hello kafka' }]);
    const connector = build({
      config: connectorConfig('upper', [topic], fns.url('upper'), { replyTopic: replies }),
      logger: silent,
    });
    await connector.start();
    try {
      // The reply topic is created by the connector's first reply: read it once that happened.
      await eventually('the delivery', async () =>
        /plinth_trigger_delivered_total\{trigger="test\/upper"\} 1/.test(await connector.registry.metrics()),
      );
      const [reply] = await readTopic(replies, 1);
      assert.equal(reply?.value, 'HELLO KAFKA');
      assert.equal(reply?.key, 'k1');
      assert.match(reply?.headers['x-plinth-source'] ?? '', new RegExp(`^${topic}/\\d+/0$`));
      assert.match(await connector.registry.metrics(), /plinth_trigger_delivered_total\{trigger="test\/upper"\} 1/);
    } finally {
      await connector.stop();
    }
  });

  it('refuses wrong credentials with an error that names the user and mechanism', async () => {
    const config = connectorConfig('bad', ['x'], fns.url('upper'));
    const connector = build({
      config: { ...config, sasl: { mechanism: 'SCRAM-SHA-512', username: 'plinth', password: 'wrong' } },
      logger: silent,
    });
    await assert.rejects(connector.start(), (e: unknown) => {
      assert.ok(e instanceof ConnectorError);
      assert.equal(e.code, 'PLINTH_KAFKA_AUTH');
      assert.match(e.message, /refused the credentials of user "plinth" \(SCRAM-SHA-512\)/);
      return true;
    });
    await connector.stop(0);
  });

  it('keeps per-key order under concurrency', async () => {
    writeFileSync(recordFile, '');
    const topic = uniqueName('ordered');
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const msgs = Array.from({ length: 200 }, (_, i) => ({ key: keys[i % keys.length] as string, value: String(i) }));
    await produce(topic, msgs);
    const connector = build({
      config: connectorConfig('ordered', [topic], fns.url('record'), { concurrency: 8 }),
      logger: silent,
    });
    await connector.start();
    try {
      await eventually('200 deliveries', () => recorded().length >= 200, 60_000);
      const got = recorded();
      for (const key of keys) {
        const seq = got.filter((r) => r.key === key).map((r) => Number(r.value));
        assert.deepEqual(
          seq,
          msgs.filter((m) => m.key === key).map((m) => Number(m.value)),
          `key ${key} out of order`,
        );
      }
    } finally {
      await connector.stop();
    }
  });

  it('delivers in batches, in order per partition, acknowledging each batch as a whole', async () => {
    writeFileSync(recordFile, '');
    const topic = uniqueName('batched');
    const msgs = Array.from({ length: 95 }, (_, i) => ({ key: `k${i % 3}`, value: String(i) }));
    await produce(topic, msgs);
    const connector = build({
      config: connectorConfig('batched', [topic], fns.url('record'), { batchSize: 10 }),
      logger: silent,
    });
    await connector.start();
    try {
      await eventually('95 deliveries', () => recorded().length >= 95, 60_000);
      const got = recorded();
      assert.equal(new Set(got.map((r) => r.value)).size, 95);
      for (const key of ['k0', 'k1', 'k2']) {
        const seq = got.filter((r) => r.key === key).map((r) => Number(r.value));
        assert.deepEqual(
          seq,
          [...seq].sort((a, b) => a - b),
          `key ${key} out of order`,
        );
      }
      const metrics = await connector.registry.metrics();
      assert.match(metrics, /plinth_trigger_delivered_total\{trigger="test\/batched"\} 95/);
      const invocations = Number(
        /plinth_trigger_delivery_seconds_count\{trigger="test\/batched"\} (\d+)/.exec(metrics)?.[1],
      );
      assert.ok(invocations < 95 && invocations >= 10, `95 messages in ${invocations} invocations`);
    } finally {
      await connector.stop();
    }
  });

  it('sends a message the function keeps failing to the dead-letter topic, with the error', async () => {
    const topic = uniqueName('doomed');
    const dlq = uniqueName('dlq');
    await produce(topic, [{ key: 'bad', value: 'order-17' }]);
    const connector = build({
      config: connectorConfig('failing', [topic], fns.url('failing'), { deadLetterTopic: dlq }),
      logger: silent,
    });
    await connector.start();
    try {
      await eventually('the dead-lettering', async () =>
        /plinth_trigger_dead_lettered_total\{trigger="test\/failing"\} 1/.test(await connector.registry.metrics()),
      );
      const [dead] = await readTopic(dlq, 1);
      assert.equal(dead?.value, 'order-17');
      assert.equal(dead?.headers['x-plinth-attempts'], '3');
      assert.match(dead?.headers['x-plinth-error'] ?? '', /function answered 500: .*cannot process order-17/);
      assert.match(
        await connector.registry.metrics(),
        /plinth_trigger_failed_attempts_total\{trigger="test\/failing"\} 3/,
      );
    } finally {
      await connector.stop();
    }
  });
});

// `plinth dev` with a KafkaTrigger: the function, its trigger and the trigger's Secret in one
// directory; a message produced to the ground's Kafka (SASL_SSL) reaches the local function.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { eventually, ground, groundKafka, requireGround, uniqueName } from '@plinth/ground';

const cli = join(import.meta.dirname, '..', 'src', 'main.ts');
let dev: ChildProcess | undefined;
after(() => {
  dev?.kill('SIGKILL');
});

it('runs the connector for a declared KafkaTrigger and delivers messages to the local function', async () => {
  await requireGround('kafka');
  const dir = mkdtempSync(join(tmpdir(), 'plinth-dev-kafka-'));
  const received = join(dir, 'received.log');
  const topic = uniqueName('dev-orders');
  mkdirSync(join(dir, 'orders'));
  writeFileSync(
    join(dir, 'orders', 'handler.mjs'),
    `import { appendFileSync } from 'node:fs';\nexport default async (req) => { appendFileSync(${JSON.stringify(received)}, (await req.text()) + '\\n'); };\n`,
  );
  writeFileSync(
    join(dir, 'orders', 'function.yaml'),
    'apiVersion: plinth.dev/v1alpha1\nkind: Function\nmetadata: { name: orders }\nspec:\n  runtime: node\n  source: { configMap: { name: orders } }\n',
  );
  const ca = readFileSync(ground('KAFKA_CA_FILE'), 'utf8');
  writeFileSync(
    join(dir, 'trigger.yaml'),
    `apiVersion: v1
kind: Secret
metadata: { name: kafka }
stringData:
  ca.crt: ${JSON.stringify(ca)}
  username: ${ground('KAFKA_SASL_USER')}
  password: ${ground('KAFKA_SASL_PASSWORD')}
---
apiVersion: plinth.dev/v1alpha1
kind: KafkaTrigger
metadata: { name: orders-in }
spec:
  functionRef: { name: orders }
  bootstrapServers: [${JSON.stringify(ground('KAFKA_BOOTSTRAP_SASL_SSL'))}]
  topics: [${topic}]
  startFrom: earliest
  tls: { ca: { name: kafka, key: ca.crt }, serverName: localhost }
  sasl: { mechanism: SCRAM-SHA-512, username: { name: kafka, key: username }, password: { name: kafka, key: password } }
`,
  );
  const producer = new Producer({
    ...groundKafka(),
    clientId: 'dev-test',
    serializers: stringSerializers,
    autocreateTopics: true,
  });
  await producer.send({ messages: [{ topic, value: 'order-1' }] });

  let stdout = '';
  dev = spawn(process.execPath, [cli, 'dev', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  dev.stdout?.on('data', (d) => {
    stdout += d;
  });
  await eventually(
    'plinth dev to list the trigger',
    () => stdout.includes(`default/orders-in  ${topic} -> default/orders`),
    60_000,
  );
  await producer.send({ messages: [{ topic, value: 'order-2' }] });
  await producer.close();
  const lines = await eventually(
    'both orders delivered',
    () => {
      try {
        const l = readFileSync(received, 'utf8').split('\n').filter(Boolean);
        return l.length >= 2 && l;
      } catch {
        return false;
      }
    },
    60_000,
  );
  assert.deepEqual([...lines].sort(), ['order-1', 'order-2']);
  dev.kill('SIGINT');
  const code = await new Promise((r) => dev?.once('exit', r));
  assert.equal(code, 0);
});

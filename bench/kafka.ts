// Kafka trigger throughput and latency, in one run against the ground's broker (SASL_SSL):
//   bare:    a @platformatic/kafka consumer reading N messages and doing nothing;
//   trigger: the connector delivering the same N messages to a no-op function through the
//            gateway (real runtime process), in batches of BENCH_BATCH (default 500),
//            committing as it goes;
//   latency: messages produced at a steady rate, one per invocation, timed from produce to
//            the function.
// Last line: {"ratio", "triggerMsgsPerSec", "bareMsgsPerSec", "p99Ms", ...}. Needs test/ground/up.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consumer, Producer, stringSerializers } from '@platformatic/kafka';
import { build as buildConnector, type ConnectorConfig } from '@plinth/connector';
import { LocalBackend, loadFunctionManifests } from '@plinth/faas';
import { build as buildGateway, listen } from '@plinth/gateway';
import { groundKafka, requireGround, uniqueName } from '@plinth/ground';
import { pino } from 'pino';
import { percentile, ROOT, round } from './lib/util.ts';

const N = Number(process.env.BENCH_N ?? 100000);
const LATENCY_N = Number(process.env.BENCH_LATENCY_N ?? 1000);
await requireGround('kafka');
const auth = groundKafka();
const work = mkdtempSync(join(tmpdir(), 'plinth-bench-kafka-'));
const latencyFile = join(work, 'latency.log');
writeFileSync(latencyFile, '');

const topic = uniqueName('bench');
const producer = new Producer({ ...auth, clientId: 'bench', serializers: stringSerializers, autocreateTopics: true });
for (let i = 0; i < N; i += 1000) {
  await producer.send({
    messages: Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ topic, value: String(i + j) })),
  });
}
console.error(`# produced ${N} messages to ${topic}`);

// Bare consumer: the ceiling the client gives on this machine.
const bare = new Consumer({ ...auth, clientId: 'bench-bare', groupId: uniqueName('bare') });
const bareStart = performance.now();
const bareStream = await bare.consume({ topics: [topic], mode: 'earliest', autocommit: true });
let seen = 0;
await new Promise<void>((resolve) => {
  bareStream.on('data', () => {
    if (++seen === N) resolve();
  });
});
const bareSeconds = (performance.now() - bareStart) / 1000;
await bareStream.close();
await bare.close(true);

// Trigger: connector -> gateway -> sink function.
const manifest = loadFunctionManifests(join(ROOT, 'bench', 'functions')).find((m) => m.object.metadata.name === 'sink');
if (!manifest) throw new Error('bench/functions/sink missing');
const backend = new LocalBackend({ cacheDir: join(work, 'cache'), poolSize: 1 });
await backend.setFunctions([{ namespace: 'default', name: 'sink', spec: manifest.object.spec, codeDir: manifest.dir }]);
const gateway = buildGateway({ backend, logger: pino({ level: 'warn' }) });
const { server, url } = await listen(gateway, { port: 0 });
await fetch(`${url}/fn/default/sink`, { method: 'POST', body: '0' }); // wake it: cold start is not throughput
const config = (t: string, extra: Partial<ConnectorConfig> = {}): ConnectorConfig => ({
  name: 'bench/sink',
  bootstrapServers: auth.bootstrapBrokers,
  topics: [t],
  group: uniqueName('trigger'),
  startFrom: 'earliest',
  tls: { ca: auth.tls.ca, serverName: 'localhost' },
  sasl: auth.sasl,
  ordering: 'key',
  concurrency: 16,
  batchSize: Number(process.env.BENCH_BATCH ?? 500),
  retry: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 1000 },
  target: `${url}/fn/default/sink`,
  ...extra,
});
const delivered = async (c: ReturnType<typeof buildConnector>) =>
  Number(/plinth_trigger_delivered_total\{[^}]*\} (\d+)/.exec(await c.registry.metrics())?.[1] ?? 0);
const trigger = buildConnector({ config: config(topic), logger: pino({ level: 'warn' }) });
const triggerStart = performance.now();
await trigger.start();
while ((await delivered(trigger)) < N) await new Promise((r) => setTimeout(r, 20));
const triggerSeconds = (performance.now() - triggerStart) / 1000;
await trigger.stop();

// Latency: a steady 500 messages/s, produce time in the body, receipt time in the function.
await backend.setFunctions([
  {
    namespace: 'default',
    name: 'sink',
    spec: { ...manifest.object.spec, env: [{ name: 'LATENCY_FILE', value: latencyFile }] },
    codeDir: manifest.dir,
  },
]);
const latencyTopic = uniqueName('latency');
await producer.send({ messages: [{ topic: latencyTopic, value: String(Date.now()) }] }); // create the topic
const live = buildConnector({
  config: config(latencyTopic, { startFrom: 'latest', batchSize: 1 }),
  logger: pino({ level: 'warn' }),
});
await live.start();
await new Promise((r) => setTimeout(r, 1000)); // let the group settle before timing
for (let i = 0; i < LATENCY_N; i++) {
  await producer.send({ messages: [{ topic: latencyTopic, value: String(Date.now()) }] });
  await new Promise((r) => setTimeout(r, 2));
}
const readLatencies = () => readFileSync(latencyFile, 'utf8').split('\n').filter(Boolean).map(Number);
while (readLatencies().length < LATENCY_N) await new Promise((r) => setTimeout(r, 50));
await live.stop();
const lat = readLatencies().sort((a, b) => a - b);

await producer.close();
server.close();
await gateway.close();
await backend.close();
const bareMsgsPerSec = N / bareSeconds;
const triggerMsgsPerSec = N / triggerSeconds;
console.error(`# bare: ${N} in ${bareSeconds.toFixed(2)} s; trigger: ${N} in ${triggerSeconds.toFixed(2)} s`);
console.log(
  JSON.stringify({
    ratio: round(triggerMsgsPerSec / bareMsgsPerSec),
    triggerMsgsPerSec: round(triggerMsgsPerSec, 0),
    bareMsgsPerSec: round(bareMsgsPerSec, 0),
    p50Ms: percentile(lat, 0.5),
    p99Ms: percentile(lat, 0.99),
    messages: N,
    latencySamples: lat.length,
  }),
);
process.exit(0);

import { join } from 'node:path';
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { LocalBackend, type LocalFunction, loadFunctionManifests } from '@plinth/faas';
import { build as buildGateway, listen } from '@plinth/gateway';
import { groundKafka, uniqueName } from '@plinth/ground';
import { pino } from 'pino';
import type { ConnectorConfig } from '../src/app.ts';

export const kafkaAuth = groundKafka;

export function connectorConfig(
  name: string,
  topics: string[],
  target: string,
  extra: Partial<ConnectorConfig> = {},
): ConnectorConfig {
  const auth = kafkaAuth();
  return {
    name: `test/${name}`,
    bootstrapServers: auth.bootstrapBrokers,
    topics,
    group: uniqueName(`group-${name}`),
    startFrom: 'earliest',
    tls: { ca: auth.tls.ca, serverName: 'localhost' },
    sasl: auth.sasl,
    ordering: 'key',
    concurrency: 8,
    batchSize: 1,
    retry: { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 200 },
    target,
    ...extra,
  };
}

/** Starts the fixture functions behind a gateway; env is added per function name. */
export async function functions(cacheDir: string, env: Record<string, Record<string, string>> = {}) {
  const backend = new LocalBackend({ cacheDir, poolSize: 1 });
  const defs: LocalFunction[] = loadFunctionManifests(join(import.meta.dirname, 'fixtures')).map((m) => {
    const name = m.object.metadata.name ?? '';
    const extraEnv = Object.entries(env[name] ?? {}).map(([k, v]) => ({ name: k, value: v }));
    return { namespace: 'default', name, spec: { ...m.object.spec, env: extraEnv }, codeDir: m.dir };
  });
  await backend.setFunctions(defs);
  const gateway = buildGateway({ backend, logger: pino({ level: 'silent' }) });
  const { server, url } = await listen(gateway, { port: 0 });
  return {
    url: (fn: string) => `${url}/fn/default/${fn}`,
    close: async () => {
      server.close();
      await gateway.close();
      await backend.close();
    },
  };
}

export async function produce(topic: string, messages: { key?: string; value: string }[]): Promise<void> {
  const producer = new Producer({
    ...kafkaAuth(),
    clientId: 'test-producer',
    serializers: stringSerializers,
    autocreateTopics: true,
  });
  try {
    for (let i = 0; i < messages.length; i += 100) {
      await producer.send({ messages: messages.slice(i, i + 100).map((m) => ({ topic, key: m.key, value: m.value })) });
    }
  } finally {
    await producer.close();
  }
}

/** Reads `count` messages from a topic from the start, or fails after timeoutMs. */
export async function readTopic(topic: string, count: number, timeoutMs = 30_000) {
  const consumer = new Consumer({
    ...kafkaAuth(),
    clientId: 'test-reader',
    groupId: uniqueName('reader'),
    deserializers: stringDeserializers,
  });
  const out: { key: string; value: string; headers: Record<string, string> }[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${out.length} of ${count} messages from ${topic} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      stream.on('data', (m) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of m.headers) headers[String(k)] = String(v);
        out.push({ key: m.key, value: m.value, headers });
        if (out.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return out;
}

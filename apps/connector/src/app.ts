// The Kafka trigger connector. build(deps) returns a connector; start() consumes, stop()
// drains. Per message: deliver it to the function over HTTP (through the gateway, which
// wakes a function scaled to zero), retry with backoff, then dead-letter it; produce the
// function's answer to the reply topic; and only then mark it done. Offsets are committed per
// partition up to the last message before which everything is done: at-least-once, in any
// completion order, across crashes.
import {
  Consumer,
  type Message,
  type MessagesStream,
  ProduceAcks,
  Producer,
  type SASLMechanismValue,
  stringSerializer,
} from '@platformatic/kafka';
import type { ConnectorConfig } from '@plinth/faas';
import { type Logger, pino } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { Dispatcher } from './dispatcher.ts';
import { PartitionWatermark } from './offsets.ts';

export type { ConnectorConfig };

export interface ConnectorDeps {
  config: ConnectorConfig;
  logger?: Logger;
  registry?: Registry;
}

export interface Connector {
  start(): Promise<void>;
  /** Stops fetching, finishes deliveries in flight (up to drainMs), commits, disconnects. */
  stop(drainMs?: number): Promise<void>;
  readonly registry: Registry;
}

export class ConnectorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConnectorError';
    this.code = code;
  }
}

/** Every error in an AggregateError / cause chain, depth first. */
function chain(e: unknown): { code?: string; message: string }[] {
  if (!(e instanceof Error)) return [];
  const members = e instanceof AggregateError ? e.errors : [];
  return [{ code: (e as { code?: string }).code, message: e.message }, ...members.flatMap(chain), ...chain(e.cause)];
}

/** Turns the Kafka client's error into one that says what to fix. */
export function explainKafkaError(e: unknown, config: ConnectorConfig): ConnectorError {
  const codes = chain(e).map((x) => x.code);
  const servers = config.bootstrapServers.join(', ');
  if (codes.includes('PLT_KFK_AUTHENTICATION')) {
    return new ConnectorError(
      'PLINTH_KAFKA_AUTH',
      `Kafka at ${servers} refused the credentials of user "${config.sasl?.username}" (${config.sasl?.mechanism}): check the username and password Secrets and that the user exists for this mechanism`,
      { cause: e },
    );
  }
  if (codes.includes('PLT_KFK_NETWORK')) {
    return new ConnectorError(
      'PLINTH_KAFKA_UNREACHABLE',
      `cannot connect to Kafka at ${servers}: ${chain(e).at(-1)?.message ?? String(e)} (check bootstrapServers, TLS and the listener's security protocol)`,
      { cause: e },
    );
  }
  return new ConnectorError('PLINTH_KAFKA', `Kafka error: ${(e as Error).message}`, { cause: e });
}

const text = (b: Buffer | undefined | null) => (b ? b.toString('utf8') : '');

/** Content type of a batch delivery: a JSON array of {topic, partition, offset, key, value, headers}. */
export const BATCH_CONTENT_TYPE = 'application/vnd.plinth.kafka-batch+json';
const BATCH_LINGER_MS = 5;
/** Commits are coalesced: a crash redelivers at most this much work (at-least-once). */
const COMMIT_INTERVAL_MS = 200;

export function build(deps: ConnectorDeps): Connector {
  const { config } = deps;
  const log = (deps.logger ?? pino({ name: 'plinth-connector' })).child({ trigger: config.name });
  const registry = deps.registry ?? new Registry();
  const labels = { trigger: config.name };
  const delivered = new Counter({
    name: 'plinth_trigger_delivered_total',
    help: 'Messages the function accepted.',
    labelNames: ['trigger'],
    registers: [registry],
  });
  const failedAttempts = new Counter({
    name: 'plinth_trigger_failed_attempts_total',
    help: 'Delivery attempts that failed.',
    labelNames: ['trigger'],
    registers: [registry],
  });
  const deadLettered = new Counter({
    name: 'plinth_trigger_dead_lettered_total',
    help: 'Messages sent to the dead-letter topic.',
    labelNames: ['trigger'],
    registers: [registry],
  });
  const lagGauge = new Gauge({
    name: 'plinth_trigger_lag',
    help: 'Messages behind, over all partitions.',
    labelNames: ['trigger'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'plinth_trigger_delivery_seconds',
    help: 'From fetch to delivery, retries included.',
    labelNames: ['trigger'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [registry],
  });

  const base = {
    clientId: `plinth-connector-${config.name.replace('/', '.')}`,
    bootstrapBrokers: config.bootstrapServers,
    ...(config.tls
      ? { tls: { ca: config.tls.ca, cert: config.tls.cert, key: config.tls.key, servername: config.tls.serverName } }
      : {}),
    ...(config.sasl
      ? {
          sasl: {
            mechanism: config.sasl.mechanism as SASLMechanismValue,
            username: config.sasl.username,
            password: config.sasl.password,
          },
        }
      : {}),
  };
  const agent = new Agent({
    connections: config.concurrency,
    keepAliveTimeout: 60_000,
    ...(config.targetCA ? { connect: { ca: config.targetCA } } : {}),
  });
  const dispatcher = new Dispatcher(config.concurrency);
  const watermarks = new Map<string, PartitionWatermark<Message>>();
  const batches = new Map<string, { msgs: Message[]; timer: NodeJS.Timeout }>();
  const toCommit = new Map<string, Message>();
  const maxUndelivered = Math.max(1000, config.concurrency * config.batchSize * 2);
  let undelivered = 0;
  let commitTimer: NodeJS.Timeout | undefined;
  let consumer: Consumer | undefined;
  let producer: Producer<Buffer, Buffer, string, Buffer> | undefined;
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let paused = false;

  /** One message: its value as the body, its coordinates and headers as HTTP headers. */
  function singleRequest(msg: Message): { headers: Record<string, string>; body: Buffer } {
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'x-kafka-topic': msg.topic,
      'x-kafka-partition': String(msg.partition),
      'x-kafka-offset': String(msg.offset),
    };
    if (msg.key?.length) headers['x-kafka-key'] = text(msg.key);
    for (const [k, v] of msg.headers) {
      const name = text(k).toLowerCase();
      if (name === 'content-type') headers['content-type'] = text(v);
      else if (/^[a-z0-9-]+$/.test(name)) headers[`x-kafka-header-${name}`] = text(v);
    }
    return { headers, body: msg.value ?? Buffer.alloc(0) };
  }

  /** A batch: a JSON array of the messages (values as UTF-8 text). */
  function batchRequest(msgs: Message[]): { headers: Record<string, string>; body: string } {
    const items = msgs.map((m) => ({
      topic: m.topic,
      partition: m.partition,
      offset: String(m.offset),
      key: m.key?.length ? text(m.key) : null,
      value: text(m.value),
      headers: Object.fromEntries([...m.headers].map(([k, v]) => [text(k), text(v)])),
    }));
    return { headers: { 'content-type': BATCH_CONTENT_TYPE }, body: JSON.stringify(items) };
  }

  async function invoke(msgs: Message[]): Promise<{ status: number; body: Buffer; contentType: string }> {
    const one = msgs.length === 1 && config.batchSize === 1 ? (msgs[0] as Message) : undefined;
    const req = one ? singleRequest(one) : batchRequest(msgs);
    const res = await request(config.target, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      dispatcher: agent,
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    return {
      status: res.statusCode,
      body,
      contentType: String(res.headers['content-type'] ?? 'application/octet-stream'),
    };
  }

  /** Produces with retries until it succeeds (or the connector stops): nothing is dropped. */
  async function produceReliably(what: string, send: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await send();
        return;
      } catch (e) {
        if (stopping) throw new Error(`stopping before the ${what} was produced; the messages will be redelivered`);
        const backoff = Math.min(config.retry.maxBackoffMs, config.retry.initialBackoffMs * 2 ** (attempt - 1));
        log.warn(
          { what, attempt, retryInMs: backoff, err: explainKafkaError(e, config).message },
          'produce failed; retrying',
        );
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  const where = (m: Message) => `${m.topic}/${m.partition}@${m.offset}`;

  /** Delivers messages of one partition (one, or a batch), then marks them done. */
  async function deliver(msgs: Message[]): Promise<void> {
    const first = msgs[0] as Message;
    const t0 = performance.now();
    let lastError = '';
    for (let attempt = 1; ; attempt++) {
      let answer: { status: number; body: Buffer; contentType: string } | undefined;
      try {
        const res = await invoke(msgs);
        if (res.status >= 200 && res.status < 300) answer = res;
        else lastError = `function answered ${res.status}: ${text(res.body).slice(0, 500)}`;
      } catch (e) {
        lastError = `delivery failed: ${(e as Error).message}`;
      }
      if (answer) {
        const reply = answer;
        const p = producer;
        if (config.replyTopic && p) {
          const topic = config.replyTopic;
          const source =
            msgs.length === 1
              ? `${first.topic}/${first.partition}/${first.offset}`
              : `${first.topic}/${first.partition}/${first.offset}-${msgs.at(-1)?.offset}`;
          // Only the produce is retried: the function already accepted the messages.
          await produceReliably('reply', () =>
            p.send({
              messages: [
                {
                  topic,
                  key: first.key ?? undefined,
                  value: reply.body,
                  headers: { 'content-type': Buffer.from(reply.contentType), 'x-plinth-source': Buffer.from(source) },
                },
              ],
            }),
          );
        }
        delivered.inc(labels, msgs.length);
        break;
      }
      failedAttempts.inc(labels);
      if (attempt >= config.retry.maxAttempts && config.deadLetterTopic && producer) {
        const p = producer;
        const deadLetterTopic = config.deadLetterTopic;
        await produceReliably('dead letters', () =>
          p.send({
            messages: msgs.map((m) => ({
              topic: deadLetterTopic,
              key: m.key ?? undefined,
              value: m.value ?? undefined,
              headers: {
                'x-plinth-error': Buffer.from(lastError),
                'x-plinth-attempts': Buffer.from(String(attempt)),
                'x-plinth-source': Buffer.from(where(m)),
                'x-plinth-trigger': Buffer.from(config.name),
              },
            })),
          }),
        );
        deadLettered.inc(labels, msgs.length);
        log.warn({ messages: msgs.map(where), attempts: attempt, error: lastError }, 'dead-lettered');
        break;
      }
      if (stopping) throw new Error(`stopping with ${where(first)} undelivered; it will be redelivered`);
      // Without a dead-letter topic a message is never dropped: it is retried at maxBackoff.
      const backoff = Math.min(config.retry.maxBackoffMs, config.retry.initialBackoffMs * 2 ** (attempt - 1));
      log.info(
        { message: where(first), batch: msgs.length, attempt, retryInMs: backoff, error: lastError },
        'delivery failed; retrying',
      );
      await new Promise((r) => setTimeout(r, backoff));
    }
    latency.observe(labels, (performance.now() - t0) / 1000);
    undelivered -= msgs.length;
    // Resume at half the limit, so fetching overlaps delivery instead of waiting for a full drain.
    if (paused && !stopping && undelivered <= maxUndelivered / 2) {
      paused = false;
      stream?.resume();
    }
    const partition = `${first.topic}:${first.partition}`;
    const watermark = watermarks.get(partition);
    for (const m of msgs) {
      const passed = watermark?.complete(m.offset);
      if (passed) toCommit.set(partition, passed.payload);
    }
  }

  /** Commits the newest watermark of each partition; coalesced, so not one commit per message. */
  async function flushCommits(): Promise<void> {
    const due = [...toCommit.values()];
    toCommit.clear();
    await Promise.all(
      due.map((m) =>
        Promise.resolve(m.commit()).catch((e: unknown) =>
          log.warn({ message: where(m), err: (e as Error).message }, 'commit failed; the messages may be redelivered'),
        ),
      ),
    );
  }

  function submit(partition: string, msgs: Message[]): void {
    const first = msgs[0] as Message;
    const orderKey =
      config.ordering !== 'key'
        ? undefined
        : config.batchSize > 1 || !first.key?.length
          ? partition
          : `${partition}:k:${text(first.key)}`;
    dispatcher.submit(orderKey, () =>
      deliver(msgs).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'delivery abandoned')),
    );
  }

  function flushBatch(partition: string): void {
    const b = batches.get(partition);
    if (!b) return;
    batches.delete(partition);
    clearTimeout(b.timer);
    submit(partition, b.msgs);
  }

  function onMessage(msg: Message): void {
    const partition = `${msg.topic}:${msg.partition}`;
    let w = watermarks.get(partition);
    if (!w) {
      w = new PartitionWatermark<Message>();
      watermarks.set(partition, w);
    }
    w.track(msg.offset, msg);
    undelivered++;
    if (config.batchSize === 1) submit(partition, [msg]);
    else {
      // Batches are cut per partition: full, or after a short linger for stragglers.
      let b = batches.get(partition);
      if (!b) {
        b = { msgs: [], timer: setTimeout(() => flushBatch(partition), BATCH_LINGER_MS) };
        batches.set(partition, b);
      }
      b.msgs.push(msg);
      if (b.msgs.length >= config.batchSize) flushBatch(partition);
    }
    // Back-pressure: stop fetching while too much is undelivered (resumed in deliver()).
    if (!paused && undelivered >= maxUndelivered) {
      paused = true;
      stream?.pause();
    }
  }

  return {
    registry,
    async start() {
      try {
        if (config.replyTopic || config.deadLetterTopic) {
          producer = new Producer({
            ...base,
            acks: ProduceAcks.ALL,
            autocreateTopics: true,
            serializers: { headerKey: stringSerializer },
          });
          await producer.metadata({ topics: [] });
        }
        // A member that dies (kill -9, a lost node) holds its partitions until its session
        // expires: keep that short so a restarted connector resumes within seconds.
        consumer = new Consumer({
          ...base,
          groupId: config.group,
          sessionTimeout: 10_000,
          heartbeatInterval: 3_000,
          rebalanceTimeout: 30_000,
        });
        stream = (await consumer.consume({
          topics: config.topics,
          mode: 'committed',
          fallbackMode: config.startFrom,
          autocommit: false,
          maxWaitTime: 500,
        })) as MessagesStream<Buffer, Buffer, Buffer, Buffer>;
      } catch (e) {
        await Promise.allSettled([consumer?.close(true), producer?.close()]);
        throw explainKafkaError(e, config);
      }
      stream.on('data', onMessage);
      // A rebalance moves partitions: commit finished work now, so the next owner starts after
      // it. Deliveries still in flight complete, but their commits may be refused, so the new
      // owner redelivers them (duplicates, never loss).
      consumer.on('consumer:group:rebalance', () => {
        log.info('rebalance: committing finished work');
        void flushCommits();
      });
      stream.on('error', (e: Error) => log.error({ err: explainKafkaError(e, config).message }, 'stream error'));
      const refreshLag = async () => {
        try {
          const lag = await consumer?.getLag({ topics: config.topics });
          let total = 0n;
          for (const parts of lag?.values() ?? []) for (const l of parts) if (l > 0n) total += l;
          lagGauge.set(labels, Number(total));
        } catch {}
      };
      lagTimer = setInterval(refreshLag, 5000);
      lagTimer.unref();
      commitTimer = setInterval(() => void flushCommits(), COMMIT_INTERVAL_MS);
      log.info({ topics: config.topics, group: config.group, target: config.target }, 'consuming');
    },
    async stop(drainMs = 10_000) {
      stopping = true;
      clearInterval(lagTimer);
      stream?.pause();
      for (const partition of [...batches.keys()]) flushBatch(partition);
      const drained = await Promise.race([
        dispatcher.idle().then(() => true),
        new Promise((r) => setTimeout(() => r(false), drainMs)),
      ]);
      if (!drained)
        log.warn({ pending: dispatcher.pending }, 'drain timed out; undelivered messages will be redelivered');
      clearInterval(commitTimer);
      await flushCommits();
      await stream?.close().catch(() => {});
      await consumer?.close(true).catch(() => {});
      await producer?.close().catch(() => {});
      await agent.close();
      log.info('stopped');
    },
  };
}

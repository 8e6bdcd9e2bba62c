// What a Kafka trigger's connector is told: the KafkaTrigger spec with its Secret references
// resolved and its target (the function's URL through the gateway) filled in. One definition
// for the operator (in a cluster) and `plinth dev` (locally).
import { consumerGroupId, KafkaTriggerKind, type KafkaTriggerObject } from '@plinth/api';

export interface ConnectorConfig {
  /** `namespace/name` of the trigger, for logs and metrics. */
  name: string;
  bootstrapServers: string[];
  topics: string[];
  group: string;
  startFrom: 'earliest' | 'latest';
  tls?: { ca?: string; cert?: string; key?: string; serverName?: string };
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
  ordering: 'key' | 'none';
  concurrency: number;
  batchSize: number;
  retry: { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number };
  deadLetterTopic?: string;
  replyTopic?: string;
  /** The function's URL (through the gateway), path included. */
  target: string;
  /** PEM of the CA that signs the gateway's certificate, when the target is https. */
  targetCA?: string;
}

export interface ResolvedSecrets {
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  password?: string;
}

/**
 * The connector config for a trigger; pure. `gatewayPrefix` is the function's route prefix URL,
 * `gatewayCA` the CA of an https gateway.
 */
export function connectorConfig(
  t: KafkaTriggerObject,
  gatewayPrefix: string,
  secrets: ResolvedSecrets,
  gatewayCA?: string,
): ConnectorConfig {
  const spec = KafkaTriggerKind.withDefaults(t.spec);
  const ns = t.metadata.namespace ?? 'default';
  return {
    name: `${ns}/${t.metadata.name}`,
    bootstrapServers: spec.bootstrapServers,
    topics: spec.topics,
    group: consumerGroupId({ metadata: { ...t.metadata, namespace: ns }, spec }),
    startFrom: spec.startFrom,
    ...(spec.tls
      ? { tls: { ca: secrets.ca, cert: secrets.cert, key: secrets.key, serverName: spec.tls.serverName } }
      : {}),
    ...(spec.sasl
      ? { sasl: { mechanism: spec.sasl.mechanism, username: secrets.username ?? '', password: secrets.password ?? '' } }
      : {}),
    ordering: spec.ordering,
    concurrency: spec.concurrency,
    batchSize: spec.batchSize,
    retry: spec.retry,
    ...(spec.deadLetterTopic ? { deadLetterTopic: spec.deadLetterTopic } : {}),
    ...(spec.replyTopic ? { replyTopic: spec.replyTopic } : {}),
    target: `${gatewayPrefix}${spec.path === '/' ? '' : spec.path}`,
    ...(gatewayCA ? { targetCA: gatewayCA } : {}),
  };
}

/** Every Secret reference of a trigger, by role. */
export function secretRefs(
  t: KafkaTriggerObject,
): Partial<Record<keyof ResolvedSecrets, { name: string; key: string }>> {
  const { tls, sasl } = t.spec;
  return {
    ...(tls?.ca ? { ca: tls.ca } : {}),
    ...(tls?.cert ? { cert: tls.cert } : {}),
    ...(tls?.key ? { key: tls.key } : {}),
    ...(sasl ? { username: sasl.username, password: sasl.password } : {}),
  };
}

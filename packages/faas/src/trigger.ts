// What a Kafka trigger's connector is told: the KafkaTrigger spec with its Secret references
// resolved and its target (the function's URL through the gateway) filled in. One definition
// for the operator (in a cluster) and `plinth dev` (locally).
import {
  configFile,
  consumerGroupId,
  KafkaTriggerKind,
  type KafkaTriggerObject,
  KafkaTriggerSpecSchema,
} from '@plinth/api';
import { type Static, Type } from '@sinclair/typebox';

// The fields the connector takes from the spec unchanged keep the spec's schema.
const spec = KafkaTriggerSpecSchema.properties;

export const ConnectorConfigSchema = Type.Object({
  name: Type.String({ minLength: 1, description: '`namespace/name` of the trigger, for logs and metrics.' }),
  bootstrapServers: spec.bootstrapServers,
  topics: spec.topics,
  group: Type.String({ minLength: 1, description: 'The consumer group the connector joins.' }),
  startFrom: spec.startFrom,
  tls: Type.Optional(
    Type.Object({
      ca: Type.Optional(Type.String()),
      cert: Type.Optional(Type.String()),
      key: Type.Optional(Type.String()),
      serverName: Type.Optional(Type.String()),
    }),
  ),
  sasl: Type.Optional(
    Type.Object({
      mechanism: spec.sasl.properties.mechanism,
      username: Type.String(),
      password: Type.String(),
    }),
  ),
  ordering: spec.ordering,
  concurrency: spec.concurrency,
  batchSize: spec.batchSize,
  retry: spec.retry,
  deadLetterTopic: spec.deadLetterTopic,
  replyTopic: spec.replyTopic,
  target: Type.String({
    pattern: '^https?://',
    description: "The function's URL (through the gateway), path included.",
  }),
  targetCA: Type.Optional(
    Type.String({ description: "PEM of the CA that signs the gateway's certificate, when the target is https." }),
  ),
});
export type ConnectorConfig = Static<typeof ConnectorConfigSchema>;

/** plinth-connector's config file, checked once at start. */
export const ConnectorConfigFile = configFile('connector config', ConnectorConfigSchema);

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

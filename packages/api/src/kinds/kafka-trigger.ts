// KafkaTrigger: messages from Kafka topics delivered to a Function, at least once. A kind of
// its own (not a field of Function) so that one function can have several triggers, each with
// its own credentials, RBAC and status (lag, last error).
import { type Static, Type } from '@sinclair/typebox';
import { ConditionsSchema, defineKind, type ObjectOf, StringEnum } from '../schema.ts';
import { FunctionNameRule } from './function.ts';

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const TOPIC = '^[a-zA-Z0-9._-]{1,249}$';
const SecretKeyRef = Type.Object({
  name: Type.String({ pattern: DNS_LABEL, maxLength: 253, description: 'A Secret in the trigger’s namespace.' }),
  key: Type.String({ minLength: 1, maxLength: 253 }),
});

export const SaslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

export const KafkaTriggerSpecSchema = Type.Object({
  functionRef: Type.Object(
    // A Function's name rule: a DNS-1035 label of at most 50 characters.
    { name: Type.String({ pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$', maxLength: FunctionNameRule.maxLength }) },
    { description: 'The Function to invoke, in the same namespace.' },
  ),
  path: Type.String({
    pattern: '^/[-a-zA-Z0-9_./]*$',
    maxLength: 253,
    default: '/',
    description: 'Path on the function.',
  }),
  bootstrapServers: Type.Array(Type.String({ pattern: '^[^:/]+:[0-9]{1,5}$' }), { minItems: 1, maxItems: 16 }),
  topics: Type.Array(Type.String({ pattern: TOPIC }), { minItems: 1, maxItems: 64 }),
  consumerGroup: Type.Optional(
    Type.String({
      pattern: TOPIC,
      maxLength: 200,
      description:
        'The consumer group, inside the trigger’s namespace: the connector joins plinth.<namespace>.<consumerGroup>, so triggers of one namespace can share a group but never join another namespace’s. Default: the trigger’s name (plinth.<namespace>.<name>).',
    }),
  ),
  startFrom: StringEnum(['earliest', 'latest'] as const, {
    default: 'latest',
    description: 'Where a new group starts.',
  }),
  tls: Type.Optional(
    Type.Object({
      ca: Type.Optional(SecretKeyRef),
      cert: Type.Optional(SecretKeyRef),
      key: Type.Optional(SecretKeyRef),
      serverName: Type.Optional(Type.String({ maxLength: 253 })),
    }),
  ),
  sasl: Type.Optional(
    Type.Object({
      mechanism: StringEnum(SaslMechanisms),
      username: SecretKeyRef,
      password: SecretKeyRef,
    }),
  ),
  ordering: StringEnum(['key', 'none'] as const, {
    default: 'key',
    description: 'key: messages with the same key are delivered one at a time, in order; none: any order.',
  }),
  concurrency: Type.Integer({ minimum: 1, maximum: 1000, default: 16, description: 'Deliveries in flight.' }),
  batchSize: Type.Integer({
    minimum: 1,
    maximum: 10000,
    default: 1,
    description:
      'Messages per invocation. 1: the message value is the body. More: a JSON array of {topic, partition, offset, key, value, headers} (application/vnd.plinth.kafka-batch+json), acknowledged as a whole.',
  }),
  retry: Type.Object(
    {
      maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 3 }),
      initialBackoffMs: Type.Integer({ minimum: 0, maximum: 600000, default: 200 }),
      maxBackoffMs: Type.Integer({ minimum: 0, maximum: 3600000, default: 10000 }),
    },
    { default: {} },
  ),
  deadLetterTopic: Type.Optional(
    Type.String({ pattern: TOPIC, description: 'Messages that fail every attempt go here.' }),
  ),
  replyTopic: Type.Optional(Type.String({ pattern: TOPIC, description: 'The function’s responses go here.' })),
});
export type KafkaTriggerSpec = Static<typeof KafkaTriggerSpecSchema>;

export const KafkaTriggerKind = defineKind({
  group: 'plinth.dev',
  version: 'v1alpha1',
  kind: 'KafkaTrigger',
  plural: 'kafkatriggers',
  shortNames: ['kt'],
  categories: ['plinth'],
  scope: 'Namespaced',
  description:
    'Delivers messages from Kafka topics to a Function, at least once, with retries and a dead-letter topic.',
  spec: KafkaTriggerSpecSchema,
  nameRule: {
    maxLength: 60,
    because:
      'the operator names the connector Deployment kt-<name> after it and labels its pods with the name (at most 63 characters)',
  },
  status: Type.Object({
    observedGeneration: Type.Optional(Type.Integer()),
    lag: Type.Optional(Type.Integer({ description: 'Messages behind, over all partitions.' })),
    lastError: Type.Optional(Type.String()),
    conditions: Type.Optional(ConditionsSchema),
  }),
  printerColumns: [
    { name: 'Function', type: 'string', jsonPath: '.spec.functionRef.name' },
    { name: 'Topics', type: 'string', jsonPath: '.spec.topics' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Lag', type: 'integer', jsonPath: '.status.lag' },
  ],
  rules: [
    {
      cel: '!has(self.tls) || has(self.tls.cert) == has(self.tls.key)',
      check: (s) => !s.tls || (s.tls.cert === undefined) === (s.tls.key === undefined),
      field: 'tls',
      message: 'tls.cert and tls.key go together (mutual TLS needs both)',
    },
    {
      cel: 'self.retry.initialBackoffMs <= self.retry.maxBackoffMs',
      check: (s) => s.retry.initialBackoffMs <= s.retry.maxBackoffMs,
      field: 'retry',
      message: 'retry.initialBackoffMs must not exceed retry.maxBackoffMs',
    },
    {
      cel: "!has(self.consumerGroup) || !self.consumerGroup.startsWith('plinth.')",
      check: (s) => !s.consumerGroup?.startsWith('plinth.'),
      field: 'consumerGroup',
      message:
        'consumerGroup is a name inside the trigger’s namespace (the connector joins plinth.<namespace>.<consumerGroup>): leave out the plinth. prefix; another namespace’s group cannot be named',
    },
    {
      cel: '!has(self.deadLetterTopic) || !(self.deadLetterTopic in self.topics)',
      check: (s) => !s.deadLetterTopic || !s.topics.includes(s.deadLetterTopic),
      field: 'deadLetterTopic',
      message: 'deadLetterTopic must not be one of the consumed topics',
    },
  ],
});
export type KafkaTriggerObject = ObjectOf<typeof KafkaTriggerKind>;

/**
 * The Kafka consumer group a trigger's connector joins: always under `plinth.<namespace>.`
 * (namespace names have no dots, so no namespace's groups are under another's prefix), with
 * spec.consumerGroup, or else the trigger's name, after it. Even a consumerGroup stored before
 * the API server refused the `plinth.` prefix stays inside the trigger's own namespace.
 */
export function consumerGroupId(t: {
  metadata: { name?: string; namespace?: string };
  spec: KafkaTriggerSpec;
}): string {
  return `plinth.${t.metadata.namespace ?? 'default'}.${t.spec.consumerGroup ?? t.metadata.name ?? ''}`;
}

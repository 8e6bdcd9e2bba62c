// Names and references the operator derives Kubernetes names from, checked the same way by
// validate() (plinth dev) and by the CRD's CEL rules (the API server; the ground's tests in
// apps/operator/test show the server's answers). Consumer groups stay inside the namespace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  consumerGroupId,
  defineKind,
  FunctionKind,
  GraphQLApiKind,
  IMAGE_REFERENCE,
  KafkaTriggerKind,
  kinds,
  toStructural,
} from '@plinth/api';
import { Type } from '@sinclair/typebox';

const fn = (name: string, spec: Record<string, unknown> = { image: 'nginx' }) => ({
  apiVersion: FunctionKind.apiVersion,
  kind: FunctionKind.kind,
  metadata: { name, namespace: 'team-a' },
  spec,
});
const trigger = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: KafkaTriggerKind.apiVersion,
  kind: KafkaTriggerKind.kind,
  metadata: { name, namespace: 'team-a' },
  spec: { functionRef: { name: 'process' }, bootstrapServers: ['kafka:9092'], topics: ['orders'], ...spec },
});
const at = (issues: { path: string; message: string }[], path: string) => issues.filter((i) => i.path === path);

describe('metadata.name rules', () => {
  it('refuses a Function named with a dot, a leading digit or over 50 characters, saying why', () => {
    for (const name of ['a.b', '9lives', 'Hello', 'x-']) {
      const [issue, ...rest] = at(FunctionKind.validate(fn(name)), 'metadata.name');
      assert.equal(rest.length, 0, name);
      assert.match(issue?.message ?? '', /DNS-1035 label.*revision Service <name>-00001/, name);
    }
    const long = at(FunctionKind.validate(fn('f'.repeat(51))), 'metadata.name');
    assert.deepEqual(
      long.map((i) => i.message),
      [
        'may have at most 50 characters: the operator names each revision Service <name>-00001 after it, and a Service name is a DNS-1035 label of at most 63 characters',
      ],
    );
    assert.deepEqual(FunctionKind.validate(fn('f'.repeat(50))), []);
    assert.deepEqual(FunctionKind.validate(fn('hello-2')), []);
  });

  it('limits KafkaTrigger and GraphQLApi names by the names their operator makes', () => {
    assert.deepEqual(KafkaTriggerKind.validate(trigger('t'.repeat(60))), []);
    assert.match(
      at(KafkaTriggerKind.validate(trigger('t'.repeat(61))), 'metadata.name')[0]?.message ?? '',
      /kt-<name>/,
    );
    assert.match(at(KafkaTriggerKind.validate(trigger('orders.v2')), 'metadata.name')[0]?.message ?? '', /no dots/);
    assert.equal(GraphQLApiKind.nameRule?.maxLength, 59);
  });

  it('renders each name rule as a CEL rule at the CRD root that blames metadata.name', () => {
    const schema = (
      FunctionKind.crd() as { spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] } }
    ).spec.versions[0]?.schema.openAPIV3Schema;
    assert.deepEqual(schema?.['x-kubernetes-validations'], [
      {
        rule: 'self.metadata.name.size() <= 50',
        message:
          'may have at most 50 characters: the operator names each revision Service <name>-00001 after it, and a Service name is a DNS-1035 label of at most 63 characters',
        fieldPath: '.metadata.name',
      },
      {
        rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
        message:
          "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit (no dots); the operator names each revision Service <name>-00001 after it, and a Service name is a DNS-1035 label of at most 63 characters",
        fieldPath: '.metadata.name',
      },
    ]);
    // The API server accepts a fieldPath only into a declared property.
    assert.deepEqual((schema?.properties as Record<string, unknown> | undefined)?.metadata, {
      type: 'object',
      properties: { name: { type: 'string' } },
    });
  });

  it('is an option of defineKind for any kind, with no rule by default', () => {
    const Plain = defineKind({
      group: 'test.plinth.dev',
      version: 'v1',
      kind: 'Plain',
      plural: 'plains',
      scope: 'Namespaced',
      description: 'x',
      spec: Type.Object({}),
      status: Type.Object({}),
    });
    assert.deepEqual(
      Plain.validate({ apiVersion: 'test.plinth.dev/v1', kind: 'Plain', metadata: { name: 'a.b' }, spec: {} }),
      [],
    );
    assert.equal(JSON.stringify(Plain.crd()).includes('x-kubernetes-validations'), false);
    const every = kinds.filter((k) => k.nameRule).map((k) => k.kind);
    assert.ok(
      ['Function', 'KafkaTrigger', 'GraphQLApi'].every((k) => every.includes(k)),
      every.join(', '),
    );
  });
});

describe('image references', () => {
  const good = [
    'nginx',
    'nginx:1.27',
    'library/nginx:1.27-alpine',
    'registry.example.com/team/app:1.4',
    'localhost:5000/fn/hello',
    '127.0.0.1:5000/team/app_x__y--z:v1.2_3',
    `registry.example.com/app@sha256:${'a'.repeat(64)}`,
    `registry.example.com/app:1@sha256:${'0'.repeat(64)}`,
  ];
  const bad = [
    'nginx bad',
    ' nginx',
    'nginx ',
    'nginx\tx',
    'Nginx',
    'team//app',
    'app:',
    `app:${'t'.repeat(129)}`,
    'app@sha256:abc',
    'app:-tag',
    'https://registry.example.com/app',
    'app;rm -rf /',
  ];

  it('accepts [registry[:port]/]repository[:tag][@sha256:digest]', () => {
    for (const image of good) assert.deepEqual(FunctionKind.validate(fn('f', { image })), [], image);
  });

  it('refuses whitespace and malformed references with a message that says what to write', () => {
    for (const image of bad) {
      const issues = FunctionKind.validate(fn('f', { image }));
      assert.equal(issues.length, 1, image);
      assert.equal(issues[0]?.path, 'spec.image');
      assert.match(issues[0]?.message ?? '', /image reference \[registry\[:port\]\/\]repository\[:tag\]/);
    }
  });

  it('renders the pattern as a CEL rule with that message, readable inside a CEL string', () => {
    const image = toStructural(FunctionKind.spec.properties.image) as Record<string, unknown>;
    assert.equal(image.pattern, undefined);
    assert.deepEqual(image['x-kubernetes-validations'], [
      {
        rule: `self.matches('${IMAGE_REFERENCE}')`,
        message: (image['x-kubernetes-validations'] as { message: string }[])[0]?.message,
      },
    ]);
    assert.ok(!/['\\]/.test(IMAGE_REFERENCE));
  });
});

describe('consumer groups', () => {
  it('refuses a consumerGroup naming a plinth group, so another namespace’s cannot be named', () => {
    const issues = KafkaTriggerKind.validate(trigger('orders', { consumerGroup: 'plinth.team-b.orders' }));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, 'spec.consumerGroup');
    assert.match(issues[0]?.message ?? '', /plinth\.<namespace>\.<consumerGroup>/);
  });

  it('puts every group under plinth.<namespace>.', () => {
    const t = (consumerGroup?: string) => ({
      metadata: { name: 'orders', namespace: 'team-a' },
      spec: KafkaTriggerKind.withDefaults(trigger('orders', consumerGroup ? { consumerGroup } : {}).spec as never),
    });
    assert.equal(consumerGroupId(t()), 'plinth.team-a.orders');
    assert.equal(consumerGroupId(t('shared')), 'plinth.team-a.shared');
    // Stored before the rule existed: still inside team-a.
    assert.equal(consumerGroupId(t('plinth.team-b.orders')), 'plinth.team-a.plinth.team-b.orders');
  });
});

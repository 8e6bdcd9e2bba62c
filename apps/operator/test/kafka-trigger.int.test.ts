// The KafkaTrigger controller against the ground's API server: the connector's config Secret
// (credentials resolved from the Secrets the trigger names), its Deployment, readiness via
// kwok, clear waiting reasons, and clean-up on delete.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FunctionKind, KafkaTriggerKind, type KafkaTriggerObject } from '@plinth/api';
import { eventually, uniqueName } from '@plinth/ground';
import { getCondition, KubeApiError, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { useOperator } from './support.ts';

const TriggerType = resourceOf(KafkaTriggerKind);
const t = useOperator('kt', { env: { PLINTH_GATEWAY_INTERNAL_URL: 'http://gateway.plinth-system.svc' } });

const trigger = () => t.client.get<KafkaTriggerObject & KubeObject>(TriggerType, { namespace: t.ns, name: 'orders' });

it('runs a connector for a trigger once its Function and Secrets exist, and cleans up on delete', async () => {
  await t.client.create(TriggerType, {
    apiVersion: KafkaTriggerKind.apiVersion,
    kind: KafkaTriggerKind.kind,
    metadata: { name: 'orders', namespace: t.ns },
    spec: {
      functionRef: { name: 'process' },
      path: '/orders',
      bootstrapServers: ['kafka.data.svc:9093'],
      topics: ['orders'],
      tls: { ca: { name: 'kafka-ca', key: 'ca.crt' } },
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        username: { name: 'kafka-user', key: 'username' },
        password: { name: 'kafka-user', key: 'password' },
      },
      deadLetterTopic: 'orders-dlq',
    },
  } as KubeObject);

  // Waiting reasons, in the order they clear.
  const reason = async () => getCondition((await trigger())?.status?.conditions, 'Ready')?.reason;
  await eventually('FunctionNotFound', async () => (await reason()) === 'FunctionNotFound');
  assert.match((await trigger())?.status?.lastError ?? '', new RegExp(`Function ${t.ns}/process does not exist`));
  await t.client.create(resourceOf(FunctionKind), {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name: 'process', namespace: t.ns },
    spec: { runtime: 'node', source: { inline: 'export default () => 1' } },
  } as KubeObject);
  await eventually('SecretNotFound', async () => (await reason()) === 'SecretNotFound', 30_000);
  await t.client.create(Resources.Secret, {
    metadata: { name: 'kafka-ca', namespace: t.ns },
    stringData: { 'ca.crt': 'PEM' },
  } as KubeObject);
  await t.client.create(Resources.Secret, {
    metadata: { name: 'kafka-user', namespace: t.ns },
    stringData: { username: 'orders-svc', password: 's3cret' },
  } as KubeObject);

  const ready = await eventually(
    'trigger Ready (connector available on kwok)',
    async () => {
      const t = await trigger();
      return getCondition(t?.status?.conditions, 'Ready')?.status === 'True' && t;
    },
    60_000,
  );
  assert.match(
    getCondition(ready.status?.conditions, 'Ready')?.message ?? '',
    /delivering orders to http:\/\/gateway\.plinth-system\.svc\/fn\/.+\/process\/orders/,
  );

  const secret = await t.client.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, {
    namespace: t.ns,
    name: 'kt-orders-config',
  });
  const rendered = JSON.parse(Buffer.from(secret?.data['connector.json'] ?? '', 'base64').toString('utf8'));
  assert.deepEqual(rendered.sasl, { mechanism: 'SCRAM-SHA-512', username: 'orders-svc', password: 's3cret' });
  assert.equal(rendered.tls.ca, 'PEM');
  assert.equal(rendered.group, `plinth.${t.ns}.orders`);
  assert.equal(rendered.deadLetterTopic, 'orders-dlq');
  const d = await t.client.get<
    KubeObject & {
      spec: {
        template: {
          metadata: { annotations: Record<string, string> };
          spec: { automountServiceAccountToken: boolean };
        };
      };
    }
  >(Resources.Deployment, { namespace: t.ns, name: 'kt-orders' });
  assert.equal(d?.spec.template.spec.automountServiceAccountToken, false);
  const hash = d?.spec.template.metadata.annotations['plinth.dev/config-hash'];

  // A new password rolls the connector at its next reconcile (Secrets are not watched yet, so
  // the spec edit below is what triggers it).
  await t.client.mergePatch(
    Resources.Secret,
    { namespace: t.ns, name: 'kafka-user' },
    { stringData: { password: 'rotated' } },
  );
  await t.client.mergePatch(TriggerType, { namespace: t.ns, name: 'orders' }, { spec: { concurrency: 8 } });
  await eventually('config hash changes', async () => {
    const next = await t.client.get<
      KubeObject & { spec: { template: { metadata: { annotations: Record<string, string> } } } }
    >(Resources.Deployment, { namespace: t.ns, name: 'kt-orders' });
    return next?.spec.template.metadata.annotations['plinth.dev/config-hash'] !== hash;
  });

  await t.client.delete(TriggerType, { namespace: t.ns, name: 'orders' });
  await eventually(
    'connector garbage-collected',
    async () =>
      (await t.client.get(Resources.Deployment, { namespace: t.ns, name: 'kt-orders' })) === undefined &&
      (await t.client.get(Resources.Secret, { namespace: t.ns, name: 'kt-orders-config' })) === undefined,
    60_000,
  );
});

it('keeps every consumer group inside the trigger’s namespace: another namespace’s is refused, a shared one is scoped', async () => {
  const victim = uniqueName('victim');
  const spec = (consumerGroup: string) => ({
    functionRef: { name: 'process' },
    bootstrapServers: ['kafka.data.svc:9092'],
    topics: ['orders'],
    consumerGroup,
  });
  const create = (name: string, consumerGroup: string) =>
    t.client.create(TriggerType, {
      apiVersion: KafkaTriggerKind.apiVersion,
      kind: KafkaTriggerKind.kind,
      metadata: { name, namespace: t.ns },
      spec: spec(consumerGroup),
    } as KubeObject);

  // The attack: join the victim's trigger group (its default, plinth.<victim t.ns>.<trigger>).
  await assert.rejects(create('stealer', `plinth.${victim}.orders`), (e: unknown) => {
    assert.ok(e instanceof KubeApiError && e.statusCode === 422, String(e));
    assert.match(e.message, /spec\.consumerGroup: Invalid value: .*leave out the plinth\. prefix/);
    return true;
  });
  assert.equal(await t.client.get(TriggerType, { namespace: t.ns, name: 'stealer' }), undefined);
  // Nor can a name make kt-<name> something other than a DNS label.
  await assert.rejects(create('orders.v2', 'orders'), /metadata\.name: Invalid value: .*must be a DNS-1123 label/);
  assert.equal(await t.client.get(Resources.Deployment, { namespace: t.ns, name: 'kt-stealer' }), undefined);

  // A group by any other name is this namespace's: the connector's config says so.
  if (!(await t.client.get(resourceOf(FunctionKind), { namespace: t.ns, name: 'process' }))) {
    await t.client.create(resourceOf(FunctionKind), {
      apiVersion: FunctionKind.apiVersion,
      kind: FunctionKind.kind,
      metadata: { name: 'process', namespace: t.ns },
      spec: { runtime: 'node', source: { inline: 'export default () => 1' } },
    } as KubeObject);
  }
  await create('sharer', `${victim}.orders`);
  const secret = await eventually(
    'the connector config',
    () =>
      t.client.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, {
        namespace: t.ns,
        name: 'kt-sharer-config',
      }),
    30_000,
  );
  const rendered = JSON.parse(Buffer.from(secret.data['connector.json'] ?? '', 'base64').toString('utf8'));
  assert.equal(rendered.group, `plinth.${t.ns}.${victim}.orders`);
  assert.ok(!rendered.group.startsWith(`plinth.${victim}.`));
  // …and that config is what the connector Deployment runs with.
  const d = await eventually(
    'the connector Deployment',
    () =>
      t.client.get<KubeObject & { spec: { template: { spec: { volumes: { secret?: { secretName: string } }[] } } } }>(
        Resources.Deployment,
        { namespace: t.ns, name: 'kt-sharer' },
      ),
    30_000,
  );
  assert.deepEqual(
    d.spec.template.spec.volumes.map((v) => v.secret?.secretName),
    ['kt-sharer-config'],
  );
  await t.client.delete(TriggerType, { namespace: t.ns, name: 'sharer' });
});

// The KafkaTrigger controller against the ground's API server: the connector's config Secret
// (credentials resolved from the Secrets the trigger names), its Deployment, readiness via
// kwok, clear waiting reasons, and clean-up on delete.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { FunctionKind, KafkaTriggerKind, type KafkaTriggerObject, plinthKinds } from '@plinth/api';
import { eventually, ground, requireGround, uniqueName } from '@plinth/ground';
import {
  ensureCrd,
  getCondition,
  KubeApiError,
  KubeClient,
  type KubeObject,
  Resources,
  resourceOf,
} from '@plinth/kube';
import { build, configFromEnv, type Operator } from '@plinth/operator';

const TriggerType = resourceOf(KafkaTriggerKind);
let client: KubeClient;
let ns: string;
let operator: Operator;
const config = configFromEnv({ PLINTH_GATEWAY_INTERNAL_URL: 'http://gateway.plinth-system.svc' });

before(async () => {
  await requireGround('kubernetes');
  client = KubeClient.load(ground('KUBECONFIG'));
  for (const kind of plinthKinds) await ensureCrd(client, kind.crd(), { fieldManager: 'plinth-test' });
  ns = uniqueName('kt');
  await client.create(Resources.Namespace, { metadata: { name: ns } });
  operator = build({
    client,
    config,
    namespace: ns,
    concurrency: async () => new Map(),
    autoscaleIntervalMs: 3_600_000,
  });
  await operator.start();
});

after(async () => {
  await operator?.stop();
  await client?.delete(Resources.Namespace, { name: ns });
});

const trigger = () => client.get<KafkaTriggerObject & KubeObject>(TriggerType, { namespace: ns, name: 'orders' });

it('runs a connector for a trigger once its Function and Secrets exist, and cleans up on delete', async () => {
  await client.create(TriggerType, {
    apiVersion: KafkaTriggerKind.apiVersion,
    kind: KafkaTriggerKind.kind,
    metadata: { name: 'orders', namespace: ns },
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
  assert.match((await trigger())?.status?.lastError ?? '', new RegExp(`Function ${ns}/process does not exist`));
  await client.create(resourceOf(FunctionKind), {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name: 'process', namespace: ns },
    spec: { runtime: 'node', source: { inline: 'export default () => 1' } },
  } as KubeObject);
  await eventually('SecretNotFound', async () => (await reason()) === 'SecretNotFound', 30_000);
  await client.create(Resources.Secret, {
    metadata: { name: 'kafka-ca', namespace: ns },
    stringData: { 'ca.crt': 'PEM' },
  } as KubeObject);
  await client.create(Resources.Secret, {
    metadata: { name: 'kafka-user', namespace: ns },
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

  const secret = await client.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, {
    namespace: ns,
    name: 'kt-orders-config',
  });
  const rendered = JSON.parse(Buffer.from(secret?.data['connector.json'] ?? '', 'base64').toString('utf8'));
  assert.deepEqual(rendered.sasl, { mechanism: 'SCRAM-SHA-512', username: 'orders-svc', password: 's3cret' });
  assert.equal(rendered.tls.ca, 'PEM');
  assert.equal(rendered.group, `plinth.${ns}.orders`);
  assert.equal(rendered.deadLetterTopic, 'orders-dlq');
  const d = await client.get<
    KubeObject & {
      spec: {
        template: {
          metadata: { annotations: Record<string, string> };
          spec: { automountServiceAccountToken: boolean };
        };
      };
    }
  >(Resources.Deployment, { namespace: ns, name: 'kt-orders' });
  assert.equal(d?.spec.template.spec.automountServiceAccountToken, false);
  const hash = d?.spec.template.metadata.annotations['plinth.dev/config-hash'];

  // A new password rolls the connector at its next reconcile (Secrets are not watched yet, so
  // the spec edit below is what triggers it).
  await client.mergePatch(
    Resources.Secret,
    { namespace: ns, name: 'kafka-user' },
    { stringData: { password: 'rotated' } },
  );
  await client.mergePatch(TriggerType, { namespace: ns, name: 'orders' }, { spec: { concurrency: 8 } });
  await eventually('config hash changes', async () => {
    const next = await client.get<
      KubeObject & { spec: { template: { metadata: { annotations: Record<string, string> } } } }
    >(Resources.Deployment, { namespace: ns, name: 'kt-orders' });
    return next?.spec.template.metadata.annotations['plinth.dev/config-hash'] !== hash;
  });

  await client.delete(TriggerType, { namespace: ns, name: 'orders' });
  await eventually(
    'connector garbage-collected',
    async () =>
      (await client.get(Resources.Deployment, { namespace: ns, name: 'kt-orders' })) === undefined &&
      (await client.get(Resources.Secret, { namespace: ns, name: 'kt-orders-config' })) === undefined,
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
    client.create(TriggerType, {
      apiVersion: KafkaTriggerKind.apiVersion,
      kind: KafkaTriggerKind.kind,
      metadata: { name, namespace: ns },
      spec: spec(consumerGroup),
    } as KubeObject);

  // The attack: join the victim's trigger group (its default, plinth.<victim ns>.<trigger>).
  await assert.rejects(create('stealer', `plinth.${victim}.orders`), (e: unknown) => {
    assert.ok(e instanceof KubeApiError && e.statusCode === 422, String(e));
    assert.match(e.message, /spec\.consumerGroup: Invalid value: .*leave out the plinth\. prefix/);
    return true;
  });
  assert.equal(await client.get(TriggerType, { namespace: ns, name: 'stealer' }), undefined);
  // Nor can a name make kt-<name> something other than a DNS label.
  await assert.rejects(create('orders.v2', 'orders'), /metadata\.name: Invalid value: .*must be a DNS-1123 label/);
  assert.equal(await client.get(Resources.Deployment, { namespace: ns, name: 'kt-stealer' }), undefined);

  // A group by any other name is this namespace's: the connector's config says so.
  if (!(await client.get(resourceOf(FunctionKind), { namespace: ns, name: 'process' }))) {
    await client.create(resourceOf(FunctionKind), {
      apiVersion: FunctionKind.apiVersion,
      kind: FunctionKind.kind,
      metadata: { name: 'process', namespace: ns },
      spec: { runtime: 'node', source: { inline: 'export default () => 1' } },
    } as KubeObject);
  }
  await create('sharer', `${victim}.orders`);
  const secret = await eventually(
    'the connector config',
    () =>
      client.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, {
        namespace: ns,
        name: 'kt-sharer-config',
      }),
    30_000,
  );
  const rendered = JSON.parse(Buffer.from(secret.data['connector.json'] ?? '', 'base64').toString('utf8'));
  assert.equal(rendered.group, `plinth.${ns}.${victim}.orders`);
  assert.ok(!rendered.group.startsWith(`plinth.${victim}.`));
  // …and that config is what the connector Deployment runs with.
  const d = await eventually(
    'the connector Deployment',
    () =>
      client.get<KubeObject & { spec: { template: { spec: { volumes: { secret?: { secretName: string } }[] } } } }>(
        Resources.Deployment,
        { namespace: ns, name: 'kt-sharer' },
      ),
    30_000,
  );
  assert.deepEqual(
    d.spec.template.spec.volumes.map((v) => v.secret?.secretName),
    ['kt-sharer-config'],
  );
  await client.delete(TriggerType, { namespace: ns, name: 'sharer' });
});

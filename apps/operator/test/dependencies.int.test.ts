// What a reconcile depends on re-runs it through watches, on the ground's API server (the
// resync is the default 10 minutes, far beyond these tests' waits): a KafkaTrigger follows its
// Function's path; a rotated Kafka password rolls the connector and a rotated JWT secret rolls
// the GraphQL server (their config hash changes with the Secret). The resync: resync.int.test.ts.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FunctionKind, GraphQLApiKind, KafkaTriggerKind } from '@plinth/api';
import { eventually } from '@plinth/ground';
import { type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { useNotesDatabase, useOperator } from './support.ts';

const t = useOperator('deps', { env: { PLINTH_GATEWAY_INTERNAL_URL: 'http://gateway.plinth-system.svc' } });
const notes = useNotesDatabase(t);

/** The pod template's config hash of a Deployment, and the Secret its config is in. */
async function rendered(deployment: string, configKey: string) {
  const d = await t.client.get<
    KubeObject & { spec: { template: { metadata: { annotations?: Record<string, string> } } } }
  >(Resources.Deployment, { namespace: t.ns, name: deployment });
  const s = await t.client.get<KubeObject & { data?: Record<string, string> }>(Resources.Secret, {
    namespace: t.ns,
    name: `${deployment}-config`,
  });
  const config = s?.data?.[configKey];
  return {
    hash: d?.spec.template.metadata.annotations?.['plinth.dev/config-hash'],
    config: config ? JSON.parse(Buffer.from(config, 'base64').toString('utf8')) : undefined,
  };
}

it("moves a KafkaTrigger's delivery target when its Function's path changes, and rolls the connector when its password is rotated", async () => {
  await t.client.create(resourceOf(FunctionKind), {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name: 'process', namespace: t.ns },
    spec: { runtime: 'node', source: { inline: 'export default () => 1' } },
  } as KubeObject);
  await t.client.create(Resources.Secret, {
    metadata: { name: 'kafka-user', namespace: t.ns },
    stringData: { username: 'orders-svc', password: 'first' },
  } as KubeObject);
  await t.client.create(resourceOf(KafkaTriggerKind), {
    apiVersion: KafkaTriggerKind.apiVersion,
    kind: KafkaTriggerKind.kind,
    metadata: { name: 'orders', namespace: t.ns },
    spec: {
      functionRef: { name: 'process' },
      bootstrapServers: ['kafka.data.svc:9093'],
      topics: ['orders'],
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        username: { name: 'kafka-user', key: 'username' },
        password: { name: 'kafka-user', key: 'password' },
      },
    },
  } as KubeObject);
  const first = await eventually(
    'the connector rendered',
    async () => {
      const r = await rendered('kt-orders', 'connector.json');
      return r.hash && r.config && r;
    },
    60_000,
  );
  assert.equal(first.config.target, `http://gateway.plinth-system.svc/fn/${t.ns}/process`);

  await t.client.mergePatch(
    resourceOf(FunctionKind),
    { namespace: t.ns, name: 'process' },
    { spec: { http: { path: `/fn/${t.ns}/orders-in` } } },
  );
  await eventually(
    'the connector delivering to the new path',
    async () =>
      (await rendered('kt-orders', 'connector.json')).config?.target ===
      `http://gateway.plinth-system.svc/fn/${t.ns}/orders-in`,
    30_000,
  );

  const before = await rendered('kt-orders', 'connector.json');
  await t.client.mergePatch(
    Resources.Secret,
    { namespace: t.ns, name: 'kafka-user' },
    { stringData: { password: 'rotated' } },
  );
  // The config Secret is written before the Deployment: wait for both, not one instant of them.
  await eventually(
    'the connector rolled with the rotated password: the pod template changes, so its pods are replaced',
    async () => {
      const r = await rendered('kt-orders', 'connector.json');
      return r.config?.sasl?.password === 'rotated' && r.hash !== before.hash;
    },
    30_000,
  );
});

it('rolls the GraphQL server when its JWT secret is rotated', async () => {
  await notes.create();
  await t.client.create(Resources.Secret, {
    metadata: { name: 'jwt', namespace: t.ns },
    stringData: { secret: `first-${'x'.repeat(32)}` },
  } as KubeObject);
  await t.client.create(resourceOf(GraphQLApiKind), {
    apiVersion: GraphQLApiKind.apiVersion,
    kind: GraphQLApiKind.kind,
    metadata: { name: 'notes', namespace: t.ns },
    spec: {
      databaseRef: { name: 'notes' },
      authenticator: notes.role('auth'),
      schemas: ['app'],
      roles: [notes.role('app')],
      jwt: { secretRef: { name: 'jwt', key: 'secret' } },
    },
  } as KubeObject);
  const before = await eventually(
    'the GraphQL server rendered',
    async () => {
      const r = await rendered('gql-notes', 'graphql.json');
      return r.hash && r.config && r;
    },
    60_000,
  );
  await t.client.mergePatch(
    Resources.Secret,
    { namespace: t.ns, name: 'jwt' },
    { stringData: { secret: `rotated-${'y'.repeat(32)}` } },
  );
  await eventually(
    'the GraphQL server rolled with the rotated secret (a new pod template)',
    async () => {
      const r = await rendered('gql-notes', 'graphql.json');
      return r.config?.jwt?.secret?.startsWith('rotated-') && r.hash !== before.hash;
    },
    30_000,
  );
  // The Database's finalizer needs the operator: delete while it runs.
  await t.client.delete(resourceOf(GraphQLApiKind), { namespace: t.ns, name: 'notes' });
  await notes.delete();
});

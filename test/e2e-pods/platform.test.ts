// Plinth as a user runs it (installed by ./install.ts: its images from the ground's registry,
// `plinth up`, the operator and the gateway as pods on the real node under their own
// ServiceAccounts), then what a user does: four functions applied the way the README says (the
// Java example, and dependency-free stand-ins for the other three examples, whose dependencies
// need an image built with them: the Build kind of issue 14), a
// canary, a rollout, scale to zero and back, a Kafka trigger, a GraphQL API, a tenant. Nothing here runs the operator or the gateway in process or as admin:
// the admin kubeconfig only installs, like a cluster administrator running `plinth up`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DatabaseKind,
  type DatabaseObject,
  FunctionKind,
  GraphQLApiKind,
  KafkaTriggerKind,
  type PlinthImage,
  TenantKind,
} from '@plinth/api';
import {
  eventually,
  ground,
  groundPg,
  groundPodKafka,
  groundPodPgSecretData,
  requireGround,
  uniqueName,
} from '@plinth/ground';
import { getCondition, type KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { DATABASE_MARKER } from '@plinth/pg-access';
import { SignJWT } from 'jose';
import pg from 'pg';
import { parse } from 'yaml';
import { produce, readTopic } from '../../apps/connector/test/support.ts';
import { type Installed, installPlinth, podReport, poolReady } from './install.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const IMAGES: PlinthImage[] = [
  'operator',
  'gateway',
  'connector',
  'graphql',
  'runtime-node',
  'runtime-python',
  'runtime-go',
  'runtime-java',
  'builder-go',
  'builder-java',
];
const FUNCTIONS = [
  'test/e2e-pods/functions/hello-node',
  'test/e2e-pods/functions/hello-python',
  'test/e2e-pods/functions/hello-go',
  'examples/04-hello-java',
];
const tag = `e2e-${Date.now().toString(36)}`;
let admin: KubeClient;
let installed: Installed | undefined;
let ns: string;
const gatewayURL = () => (installed as Installed).gatewayURL();

before(async () => {
  await requireGround('kubernetes', 'registry', 'node', 'postgres', 'kafka');
  installed = await installPlinth(IMAGES, tag);
  admin = installed.admin;
  ns = uniqueName('e2e');
  await admin.create(Resources.Namespace, { metadata: { name: ns } });
});

after(async () => {
  // Functions carry finalizers the operator removes: delete them while it runs.
  await admin?.delete(Resources.Namespace, { name: ns }).catch(() => {});
  await eventually(
    'the test namespace gone',
    async () => ((await admin.get(Resources.Namespace, { name: ns })) ? undefined : true),
    120_000,
  ).catch(() => {});
  await installed?.uninstall();
});

describe('the platform in pods', () => {
  it('plinth up runs the operator and the gateway from their images on the real node', async () => {
    const pods = await admin.list<KubeObject & { spec: { nodeName?: string; serviceAccountName?: string } }>(
      Resources.Pod,
      { namespace: 'plinth-system' },
    );
    assert.ok(pods.items.length >= 2);
    for (const p of pods.items) {
      assert.equal(p.spec.nodeName, ground('NODE_NAME'), `${p.metadata?.name} runs on the real node`);
      assert.match(p.spec.serviceAccountName ?? '', /^plinth-(operator|gateway)$/, 'under its own ServiceAccount');
    }
  });

  it('four functions, applied as the README says, wake from zero on the real node and answer through the gateway pod', async () => {
    const started = Date.now();
    const names: string[] = [];
    for (const path of FUNCTIONS) {
      // kubectl create configmap <name> --from-file=<dir>, then kubectl apply -f function.yaml
      const dir = join(ROOT, path);
      const fn = parse(readFileSync(join(dir, 'function.yaml'), 'utf8')) as KubeObject;
      const name = fn.metadata?.name ?? '';
      names.push(name);
      await admin.create(Resources.ConfigMap, {
        metadata: { name, namespace: ns },
        data: Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')])),
      } as KubeObject);
      await admin.create(resourceOf(FunctionKind), { ...fn, metadata: { ...fn.metadata, namespace: ns } });
    }
    for (const name of names) {
      const body = await eventually(
        `${name} answering through the gateway`,
        async () => {
          const r = await fetch(`${await gatewayURL()}/fn/${ns}/${name}?name=Ada`, {
            signal: AbortSignal.timeout(60_000),
          });
          return r.status === 200 && ((await r.json()) as { message?: string; runtime?: string });
        },
        300_000,
        1_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(ns)}\n${await podReport('plinth-system')}`);
      });
      assert.equal(body.message, 'Hello, Ada', name);
      process.stdout.write(`# ${name}: first answer ${Date.now() - started} ms after the four were applied\n`);
    }
    const pods = await admin.list<KubeObject & { spec: { nodeName?: string } }>(Resources.Pod, { namespace: ns });
    assert.ok(pods.items.length >= names.length);
    for (const p of pods.items)
      assert.equal(p.spec.nodeName, ground('NODE_NAME'), `${p.metadata?.name} on the real node`);
  });

  it('a canary split sends each revision its share', async () => {
    // hello-node-00001 greets with "Hello"; a new env makes hello-node-00002, which gets half.
    const fnType = resourceOf(FunctionKind);
    await admin.mergePatch(
      fnType,
      { namespace: ns, name: 'hello-node' },
      {
        spec: {
          env: [{ name: 'GREETING', value: 'Hi' }],
          scaling: { minReplicas: 1, scaleToZeroAfterSeconds: 120 },
          traffic: [
            { revision: 'hello-node-00001', percent: 50 },
            { latestRevision: true, percent: 50, tag: 'canary' },
          ],
        },
      },
    );
    await eventually(
      'both revisions ready and in the resolved traffic',
      async () => {
        const f = await admin.get<KubeObject & { status?: { traffic?: { revision: string; percent: number }[] } }>(
          fnType,
          { namespace: ns, name: 'hello-node' },
        );
        const t = f?.status?.traffic ?? [];
        return t.length === 2 && t.every((x) => x.percent === 50) && t;
      },
      120_000,
    );
    const base = `${await gatewayURL()}/fn/${ns}/hello-node`;
    // The canary answers at its tag first, so both revisions are awake before counting.
    await eventually(
      'the canary answering at @canary',
      async () => {
        const r = await fetch(`${base}/@canary?name=Ada`, { signal: AbortSignal.timeout(60_000) });
        return r.status === 200 && ((await r.json()) as { message?: string }).message === 'Hi, Ada';
      },
      120_000,
      1_000,
    );
    const counts = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${base}?name=Ada`, { signal: AbortSignal.timeout(60_000) });
      assert.equal(r.status, 200);
      const m = ((await r.json()) as { message?: string }).message ?? '';
      counts.set(m, (counts.get(m) ?? 0) + 1);
    }
    process.stdout.write(`# canary split over 200 requests: ${JSON.stringify(Object.fromEntries(counts))}\n`);
    const old = counts.get('Hello, Ada') ?? 0;
    const canary = counts.get('Hi, Ada') ?? 0;
    assert.equal(old + canary, 200, 'every answer came from one of the two revisions');
    // 50/50 over 200 requests: outside 70..130 would be a 1-in-20,000 accident of a fair split.
    assert.ok(old >= 70 && old <= 130, `the old revision got ${old} of 200`);
  });

  it('an edit rolls out a new revision with zero failed requests', async () => {
    const fnType = resourceOf(FunctionKind);
    const base = `${await gatewayURL()}/fn/${ns}/hello-python`;
    const failures: string[] = [];
    const seen = new Map<string, number>();
    let stop = false;
    // Four clients, GETs and small POSTs, for the whole rollout and until the old pods are gone.
    const client = async () => {
      for (let i = 0; !stop; i++) {
        const post = i % 2 === 1;
        try {
          const r = await fetch(post ? base : `${base}?name=Ada`, {
            method: post ? 'POST' : 'GET',
            ...(post ? { body: JSON.stringify({ i }), headers: { 'content-type': 'application/json' } } : {}),
            signal: AbortSignal.timeout(30_000),
          });
          const body = (await r.json()) as { message?: string; echo?: unknown; error?: string };
          if (r.status !== 200) failures.push(`${r.status} ${body.error ?? ''}`);
          else if (!post) seen.set(body.message ?? '', (seen.get(body.message ?? '') ?? 0) + 1);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    try {
      await eventually('requests flowing', async () => (seen.get('Hello, Ada') ?? 0) > 20, 60_000);
      await admin.mergePatch(
        fnType,
        { namespace: ns, name: 'hello-python' },
        { spec: { env: [{ name: 'GREETING', value: 'Howdy' }] } },
      );
      const started = Date.now();
      await eventually(
        'hello-python-00002 serving all traffic and the old revision scaled to zero with its pods gone',
        async () => {
          const f = await admin.get<KubeObject & { status?: { traffic?: { revision: string; percent: number }[] } }>(
            fnType,
            { namespace: ns, name: 'hello-python' },
          );
          const t = f?.status?.traffic ?? [];
          if (t.length !== 1 || t[0]?.revision !== 'hello-python-00002') return false;
          const old = await admin.list(Resources.Pod, {
            namespace: ns,
            labelSelector: 'plinth.dev/revision=hello-python-00001',
          });
          return old.items.length === 0;
        },
        180_000,
        500,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(ns)}`);
      });
      process.stdout.write(
        `# rollout: new revision serving and old pods gone ${Date.now() - started} ms after the edit\n`,
      );
      // A little longer on the new revision alone.
      const howdy = seen.get('Howdy, Ada') ?? 0;
      await eventually(
        'more answers from the new revision',
        async () => (seen.get('Howdy, Ada') ?? 0) > howdy + 20,
        30_000,
      );
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    process.stdout.write(
      `# rollout: GET answers ${JSON.stringify(Object.fromEntries(seen))}, failures ${failures.length}\n`,
    );
    assert.deepEqual(failures, [], 'no request failed during the rollout');
    assert.ok((seen.get('Hello, Ada') ?? 0) > 20 && (seen.get('Howdy, Ada') ?? 0) > 20);
  });

  it('scales to zero when idle and wakes from zero on a warm pool pod of the namespace, measured', async () => {
    const fnType = resourceOf(FunctionKind);
    const base = `${await gatewayURL()}/fn/${ns}/hello-python?name=Ada`;
    await admin.mergePatch(
      fnType,
      { namespace: ns, name: 'hello-python' },
      { spec: { scaling: { scaleToZeroAfterSeconds: 3 } } },
    );
    const wakes: number[] = [];
    const idles: number[] = [];
    // One round: the autoscaler's 60 s stable window makes each trip to zero take a minute or
    // more (bench/coldstart-cluster.ts takes 20 samples of the wake alone).
    for (let round = 0; round < 1; round++) {
      const idleSince = Date.now();
      await eventually(
        'hello-python at zero replicas, its pods gone',
        async () => {
          const pods = await admin.list(Resources.Pod, {
            namespace: ns,
            labelSelector: 'plinth.dev/function=hello-python',
          });
          return pods.items.length === 0;
        },
        120_000,
        250,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(ns)}`);
      });
      idles.push(Date.now() - idleSince);
      await poolReady(ns, 'python');
      const t0 = performance.now();
      const r = await fetch(base, { signal: AbortSignal.timeout(60_000) });
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { message?: string }).message, 'Howdy, Ada');
      wakes.push(Math.round(performance.now() - t0));
      // The first answer came from a warm pool pod, moved into the revision (its preStop keeps
      // it listed for seconds after the revision's own pod takes over).
      // (The gateway moves it without holding the answer back: look for a few seconds.)
      await eventually(
        `a pool pod moved into hello-python after wake ${round + 1}`,
        async () =>
          (
            await admin.list(Resources.Pod, {
              namespace: ns,
              labelSelector: 'plinth.dev/pooled=true,plinth.dev/function=hello-python',
            })
          ).items.length >= 1,
        5_000,
        50,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(ns)}`);
      });
    }
    process.stdout.write(
      `# scale to zero: idle to no pods ${idles.join(', ')} ms (scaleToZeroAfterSeconds 3, then the preStop delay and the drain)\n`,
    );
    process.stdout.write(`# wake from zero on a warm pool pod through the gateway pod: ${wakes.join(', ')} ms\n`);
    assert.equal(wakes.length, 1);
  });

  it("a KafkaTrigger's connector pod consumes over SASL_SSL and delivers through the in-cluster gateway, at least once", async () => {
    const kafka = groundPodKafka();
    const topic = uniqueName('e2e-orders');
    const replies = `${topic}-replies`;
    await admin.create(Resources.Secret, {
      metadata: { name: 'kafka', namespace: ns },
      stringData: { 'ca.crt': kafka.tls.ca, username: kafka.sasl.username, password: kafka.sasl.password },
    } as KubeObject);
    await admin.create(resourceOf(FunctionKind), {
      apiVersion: FunctionKind.apiVersion,
      kind: FunctionKind.kind,
      metadata: { name: 'upper', namespace: ns },
      spec: {
        runtime: 'node',
        source: { inline: 'export default async (req) => new Response((await req.text()).toUpperCase())' },
      },
    } as KubeObject);
    await admin.create(resourceOf(KafkaTriggerKind), {
      apiVersion: KafkaTriggerKind.apiVersion,
      kind: KafkaTriggerKind.kind,
      metadata: { name: 'orders', namespace: ns },
      spec: {
        functionRef: { name: 'upper' },
        bootstrapServers: kafka.bootstrapBrokers,
        topics: [topic],
        startFrom: 'earliest',
        tls: { ca: { name: 'kafka', key: 'ca.crt' } },
        sasl: {
          mechanism: kafka.sasl.mechanism,
          username: { name: 'kafka', key: 'username' },
          password: { name: 'kafka', key: 'password' },
        },
        replyTopic: replies,
      },
    } as KubeObject);
    const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `order ${i}` }));
    await produce(topic, messages);
    const got = await eventually(
      'every order answered on the reply topic',
      async () => {
        const seen = await readTopic(replies, messages.length, 10_000).catch(() => undefined);
        return seen && seen;
      },
      240_000,
      1_000,
    ).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await podReport(ns)}`);
    });
    // At least once: every message's answer is there (a redelivery may repeat one).
    assert.deepEqual(
      [...new Set(got.map((m) => `${m.key}=${m.value}`))].sort(),
      messages.map((m) => `${m.key}=${m.value.toUpperCase()}`).sort(),
    );
    const pod = (
      await admin.list<KubeObject & { spec: { nodeName?: string; serviceAccountName?: string } }>(Resources.Pod, {
        namespace: ns,
        labelSelector: 'plinth.dev/kafka-trigger=orders',
      })
    ).items[0];
    assert.equal(pod?.spec.nodeName, ground('NODE_NAME'), 'the connector runs on the real node');
    assert.equal(pod?.spec.serviceAccountName, 'kt-orders', 'under its own ServiceAccount');
    const secret = await admin.get<KubeObject & { data: Record<string, string> }>(Resources.Secret, {
      namespace: ns,
      name: 'kt-orders-config',
    });
    const target = JSON.parse(Buffer.from(secret?.data['connector.json'] ?? '', 'base64').toString()).target;
    assert.equal(
      target,
      `http://plinth-gateway.plinth-system.svc:443/fn/${ns}/upper`,
      'delivered through the in-cluster Service',
    );
  });

  it('a Database and a GraphQLApi: its pod serves an RLS-scoped query with a JWT through the gateway pod', async () => {
    const run = Math.random().toString(36).slice(2, 7);
    const dbName = `e2e_notes_${run}`;
    const role = (n: string) => `e2e${run}_${n}`;
    const secret = `jwt-${run}-${'s'.repeat(32)}`;
    const dbType = resourceOf(DatabaseKind);
    // The server address the operator pod and the GraphQL pod use: the node's bridge.
    await admin.create(Resources.Secret, {
      metadata: { name: 'pg-admin', namespace: ns },
      stringData: groundPodPgSecretData(),
    } as KubeObject);
    await admin.create(Resources.Secret, {
      metadata: { name: 'jwt', namespace: ns },
      stringData: { secret },
    } as KubeObject);
    const access = {
      connectionSecretRef: { name: 'pg-admin' },
      databaseName: dbName,
      schemas: ['app'],
      roles: [
        { name: role('user') },
        { name: role('auth'), login: true, inherit: false, memberOf: [role('user')] },
        { name: role('migrator'), login: true },
      ],
      schemaPrivileges: [
        { role: role('migrator'), schema: 'app', privileges: ['USAGE', 'CREATE'] },
        { role: role('user'), schema: 'app', privileges: ['USAGE'] },
      ],
    };
    await admin.create(dbType, {
      apiVersion: DatabaseKind.apiVersion,
      kind: DatabaseKind.kind,
      metadata: { name: 'notes', namespace: ns },
      spec: access,
    } as KubeObject);
    const root = new pg.Client(groundPg('postgres'));
    await root.connect();
    try {
      const readyAt = (generation: number) =>
        eventually(
          `the Database Ready at generation ${generation}, reconciled by the operator pod`,
          async () => {
            const d = await admin.get<DatabaseObject & KubeObject>(dbType, { namespace: ns, name: 'notes' });
            const c = getCondition(d?.status?.conditions, 'Ready');
            return c?.status === 'True' && c.observedGeneration === generation;
          },
          120_000,
        ).catch(async (e) => {
          throw new Error(`${(e as Error).message}\n${await podReport('plinth-system')}`);
        });
      await readyAt(1);
      const secretOf = async (r: string) => {
        const s = await admin.get<KubeObject & { data?: Record<string, string> }>(Resources.Secret, {
          namespace: ns,
          name: `notes-${r.replace(/_/g, '-')}`,
        });
        return Buffer.from(s?.data?.password ?? '', 'base64').toString('utf8');
      };
      // The application's migration, as its own login role (from here, over the host address).
      const migrator = new pg.Client(
        groundPg(dbName, { user: role('migrator'), password: await secretOf(role('migrator')) }),
      );
      await migrator.connect();
      await migrator.query(`
        CREATE TABLE app.notes (id serial PRIMARY KEY, owner text NOT NULL, body text NOT NULL);
        INSERT INTO app.notes (owner, body) VALUES ('alice', 'alice 1'), ('alice', 'alice 2'), ('bob', 'bob 1');`);
      await migrator.end();
      await admin.mergePatch(
        dbType,
        { namespace: ns, name: 'notes' },
        {
          spec: {
            tablePrivileges: [{ role: role('user'), table: 'app.notes', privileges: ['SELECT'] }],
            rowSecurity: [{ table: 'app.notes', enabled: true }],
            policies: [
              {
                table: 'app.notes',
                name: 'own_notes',
                roles: [role('user')],
                using: "owner = current_setting('jwt.claims.sub', true)",
              },
            ],
          },
        },
      );
      await readyAt(2);
      await admin.create(resourceOf(GraphQLApiKind), {
        apiVersion: GraphQLApiKind.apiVersion,
        kind: GraphQLApiKind.kind,
        metadata: { name: 'notes', namespace: ns },
        spec: {
          databaseRef: { name: 'notes' },
          authenticator: role('auth'),
          schemas: ['app'],
          roles: [role('user')],
          jwt: { secretRef: { name: 'jwt', key: 'secret' } },
        },
      } as KubeObject);
      const token = (sub: string) =>
        new SignJWT({ sub, role: role('user') })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(secret));
      const url = `${await gatewayURL()}/graphql/${ns}/notes`;
      const notes = async (sub: string) => {
        const r = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(sub)}` },
          body: JSON.stringify({ query: '{ allNotes(orderBy: ROW_ID_ASC) { nodes { owner body } } }' }),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await r.json()) as { data?: { allNotes?: { nodes: { body: string }[] } }; errors?: unknown };
        return r.status === 200 && body.data?.allNotes ? body.data.allNotes.nodes.map((n) => n.body) : undefined;
      };
      const alice = await eventually(
        'the GraphQL pod answering through the gateway pod',
        () => notes('alice'),
        240_000,
        1_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(ns)}`);
      });
      assert.deepEqual(alice, ['alice 1', 'alice 2'], "alice's JWT sees her rows only");
      assert.deepEqual(await notes('bob'), ['bob 1'], "bob's JWT sees his");
      const pod = (
        await admin.list<KubeObject & { spec: { nodeName?: string } }>(Resources.Pod, {
          namespace: ns,
          labelSelector: 'plinth.dev/graphql-api=notes',
        })
      ).items[0];
      assert.equal(pod?.spec.nodeName, ground('NODE_NAME'), 'the GraphQL server runs on the real node');
    } finally {
      await admin.delete(resourceOf(GraphQLApiKind), { namespace: ns, name: 'notes' });
      await admin.delete(dbType, { namespace: ns, name: 'notes' });
      await eventually(
        'the Database gone',
        async () => !(await admin.get(dbType, { namespace: ns, name: 'notes' })),
        120_000,
      );
      await root.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      for (const n of ['auth', 'user', 'migrator']) await root.query(`DROP ROLE IF EXISTS ${role(n)}`);
      const owners = await root.query<{ rolname: string }>(
        `SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE $1`,
        [`${DATABASE_MARKER}${ns}/notes%`],
      );
      for (const r of owners.rows) await root.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r.rolname)}`);
      await root.end();
    }
  });

  it("a tenant's developer deploys a Function in the tenant's namespace, and is refused in another", async () => {
    const tenant = uniqueName('e2e-t');
    const home = `${tenant}-apps`;
    await admin.create(resourceOf(TenantKind), {
      apiVersion: TenantKind.apiVersion,
      kind: TenantKind.kind,
      metadata: { name: tenant },
      spec: { namespaces: [home], access: { developers: ['e2e-developers'] } },
    } as KubeObject);
    try {
      await eventually(
        `Tenant ${tenant} reconciled by the operator pod`,
        async () => {
          const t = await admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
            resourceOf(TenantKind),
            { name: tenant },
          );
          return t?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        },
        60_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport('plinth-system')}`);
      });
      // A directory user of the developers group, as the API server sees them (OIDC prefix).
      const dev = admin.impersonate('oidc:dana@plinth.test', ['oidc:e2e-developers']);
      const fn = (namespace: string) =>
        dev.create(resourceOf(FunctionKind), {
          apiVersion: FunctionKind.apiVersion,
          kind: FunctionKind.kind,
          metadata: { name: 'greet', namespace },
          spec: { runtime: 'node', source: { inline: "export default () => ({ message: 'Hello from the tenant' })" } },
        } as KubeObject);
      await fn(home);
      await assert.rejects(fn(ns), /forbidden/i, 'the developer is refused outside the tenant');
      const body = await eventually(
        "the tenant's Function answering through the gateway",
        async () => {
          const r = await fetch(`${await gatewayURL()}/fn/${home}/greet`, {
            signal: AbortSignal.timeout(60_000),
          });
          return r.status === 200 && ((await r.json()) as { message?: string });
        },
        120_000,
        1_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await podReport(home)}`);
      });
      assert.equal(body.message, 'Hello from the tenant');
    } finally {
      // The Tenant's finalizer deletes its namespace (and the Function, whose finalizer the operator runs).
      await admin.delete(resourceOf(TenantKind), { name: tenant });
      await eventually(
        'the Tenant gone',
        async () => !(await admin.get(resourceOf(TenantKind), { name: tenant })),
        120_000,
      );
    }
  });
});

// Route hijack, tried as a hostile tenant would on the ground's real API server. team-b is
// granted the catch-alls around team-a's grants (the prefix /r-<run> around team-a's
// /r-<run>/shop, the host *.zone-<run>.test around team-a's shop.zone-<run>.test). team-b points
// a Function that already serves at its catch-all at team-a's default path, at team-a's
// GraphQL API's path, at team-a's host and inside team-a's prefix. Each claim is refused with
// RouteConflict naming what is not allowed and who serves it (the operator's reconcile), the
// gateway's Kubernetes backend does not route it (although the Function still has live
// traffic), and team-a's requests, Authorization header included, reach team-a only: also with
// the host written differently, and once team-a has nothing serving its host or prefix (404,
// not team-b's catch-all). Then the incumbent rule inside one tenant: a second Function on
// team-a's host waits until the first is deleted, and an older Function edited to claim that
// host does not take it. A Tenant granted what an older one is granted says so.
// kwok pods have no network, so each tenant's revisions are served by an HTTP server in this
// process (one per tenant) that records what it receives; routes are the real backend's.
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { FunctionKind, type FunctionObject, GraphQLApiKind, TenantKind, type TenantObject } from '@plinth/api';
import type { FunctionBackend } from '@plinth/faas';
import { build as buildGateway, type Gateway, KubeBackend, listen } from '@plinth/gateway';
import { eventually, uniqueName } from '@plinth/ground';
import { getCondition, type KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { useOperator } from '@plinth/operator/testing';
import { pino } from 'pino';

const FunctionType = resourceOf(FunctionKind);
const GraphQLApiType = resourceOf(GraphQLApiKind);
const TenantType = resourceOf(TenantKind);
const run = Math.random().toString(36).slice(2, 7);
const tenantA = `routes-a-${run}`;
const tenantB = `routes-b-${run}`;
const tenantC = `routes-c-${run}`;
const zone = `zone-${run}.test`;
const catchAll = `/r-${run}`;
const shopPrefix = `${catchAll}/shop`;
const TOKEN = `Bearer team-a-secret-${run}`;
let client: KubeClient;
let nsA: string;
let nsB: string;
let nsC: string;
let hostA: string;
let backend: KubeBackend;
let gateway: Gateway;
let server: Server;
let url: string;

/** What one tenant's instances received. */
interface Seen {
  url: string;
  host: string;
  authorization: string;
}
type Who = 'a' | 'b' | 'elder';
const received: Record<Who, Seen[]> = { a: [], b: [], elder: [] };
const instances: Server[] = [];
const instanceURL: Record<Who, string> = { a: '', b: '', elder: '' };

async function instance(who: Who): Promise<void> {
  const s = createServer((req, res) => {
    received[who].push({
      url: req.url ?? '',
      host: String(req.headers['x-forwarded-host'] ?? ''),
      authorization: req.headers.authorization ?? '',
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ who }));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  instances.push(s);
  instanceURL[who] = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

// One operator per team namespace (each settles route ownership over the whole cluster).
// team-a's `after` runs first, while both operators still run.
const teamA = useOperator('team-a', {
  beforeStop: async () => {
    server?.close();
    await gateway?.close();
    backend?.stop();
    for (const s of instances) s.close();
    for (const name of [tenantA, tenantB, tenantC]) {
      if (await teamA.client.get(TenantType, { name }))
        await teamA.client.mergePatch(TenantType, { name }, { metadata: { finalizers: null } });
      await teamA.client.delete(TenantType, { name });
    }
  },
});
const teamB = useOperator('team-b');

before(async () => {
  await Promise.all([teamA.ready, teamB.ready]);
  client = teamA.client;
  [nsA, nsB] = [teamA.ns, teamB.ns];
  nsC = uniqueName('team-c');
  hostA = `shop.${zone}`;
  const tenant = (name: string, namespaces: string[], routes: Record<string, string[]>) =>
    client.create(TenantType, {
      apiVersion: TenantKind.apiVersion,
      kind: TenantKind.kind,
      metadata: { name },
      spec: { namespaces, routes },
    } as KubeObject);
  await tenant(tenantA, [nsA], { hosts: [hostA], pathPrefixes: [shopPrefix] });
  await tenant(tenantB, [nsB], { hosts: [`*.${zone}`], pathPrefixes: [catchAll] });
  await instance('a');
  await instance('b');
  await instance('elder');
  // Routes from the real backend over the whole cluster, as the gateway in a cluster reads them.
  backend = new KubeBackend({ client });
  await backend.start();
  const local: FunctionBackend = {
    routes: () => backend.routes(),
    endpoints: (revision) =>
      revision.startsWith(`${nsA}/elder-`)
        ? [instanceURL.elder]
        : revision.startsWith(`${nsA}/`)
          ? [instanceURL.a]
          : revision.startsWith(`${nsB}/`)
            ? [instanceURL.b]
            : [],
    wake: async () => {},
  };
  gateway = buildGateway({ backend: local, logger: pino({ level: 'silent' }) });
  ({ server, url } = await listen(gateway, { port: 0 }));
});

// Once the operators have stopped.
after(async () => {
  await client?.delete(Resources.Namespace, { name: nsC });
});

function fnObject(namespace: string, name: string, http: Record<string, string>): KubeObject {
  return {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name, namespace },
    spec: { runtime: 'node', source: { inline: 'export default () => ({})' }, http },
  } as KubeObject;
}

/** Waits for the Function's Ready condition at its current generation to have this reason. */
function readyReason(namespace: string, name: string, reason: string) {
  return eventually(
    `Function ${namespace}/${name} Ready condition ${reason}`,
    async () => {
      const f = await client.get<FunctionObject & KubeObject>(FunctionType, { namespace, name });
      const ready = getCondition(f?.status?.conditions, 'Ready');
      return ready?.reason === reason && ready.observedGeneration === f?.metadata.generation && ready;
    },
    60_000,
  );
}

/** Whether the gateway routes the object with traffic (a holder without traffic answers 503). */
const routed = (fn: string) => backend.routes().some((r) => r.function === fn && r.targets.length > 0);

function received0() {
  for (const who of Object.keys(received) as Who[]) received[who].length = 0;
}

/** A request to the gateway with team-a's credentials; the answer names the tenant served. */
function call(path: string, host?: string): Promise<{ status: number; who?: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path, headers: { authorization: TOKEN, ...(host ? { host } : {}) } },
      async (res) => {
        let text = '';
        for await (const c of res) text += c;
        resolve({ status: res.statusCode ?? 0, who: (JSON.parse(text) as { who?: string }).who });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function repoint(http: { path?: string; host?: string }) {
  await client.mergePatch(
    FunctionType,
    { namespace: nsB, name: 'steal' },
    { spec: { http: { path: null, host: null, ...http } } },
  );
}

it("refuses team-b's claims on team-a's default path, GraphQL path, host and prefix; team-a keeps its traffic", async () => {
  // Older than every other Function here: later edited to claim a host another one holds.
  await client.create(FunctionType, fnObject(nsA, 'elder', {}));
  // The victim: a Function on team-a's default path and granted host, one at team-a's granted
  // prefix, and a GraphQL API.
  await client.create(FunctionType, fnObject(nsA, 'hello', { host: hostA }));
  await client.create(FunctionType, fnObject(nsA, 'shop', { path: shopPrefix }));
  await client.create(GraphQLApiType, {
    apiVersion: GraphQLApiKind.apiVersion,
    kind: GraphQLApiKind.kind,
    metadata: { name: 'notes', namespace: nsA },
    spec: {
      databaseRef: { name: 'notes' },
      authenticator: 'auth',
      schemas: ['app'],
      roles: ['user'],
      jwt: { secretRef: { name: 'jwt', key: 'secret' } },
    },
  } as KubeObject);
  // No Database here: the API's URL is written as the operator writes it once the API serves.
  await client.apply(
    GraphQLApiType,
    {
      apiVersion: GraphQLApiKind.apiVersion,
      kind: GraphQLApiKind.kind,
      metadata: { name: 'notes', namespace: nsA },
      status: { url: `http://gateway.test/graphql/${nsA}/notes` },
    } as KubeObject,
    { fieldManager: 'plinth-test', subresource: 'status' },
  );
  for (const name of ['elder', 'hello', 'shop']) await readyReason(nsA, name, 'RevisionsReady');
  await eventually(
    'the victim routed',
    () => routed(`${nsA}/hello`) && routed(`${nsA}/shop`) && routed(`${nsA}/notes`),
  );

  // The attacker first serves at team-b's catch-all, so it has live traffic the gateway could use.
  await client.create(FunctionType, fnObject(nsB, 'steal', { path: catchAll }));
  await readyReason(nsB, 'steal', 'RevisionsReady');
  await eventually('the attacker routed', () => routed(`${nsB}/steal`));
  assert.deepEqual(await call(`${catchAll}/x`), { status: 200, who: 'b' });
  received0();

  const attacks = [
    {
      http: { path: `/fn/${nsA}/hello` },
      message: `not routed: path /fn/${nsA}/hello is inside /fn/${nsA}/, the default paths of namespace ${nsA}; Function ${nsA}/hello serves it`,
      requests: [[`/fn/${nsA}/hello`], [`/fn/${nsA}/hello/admin?x=1`]],
      victim: ['/', '/admin?x=1'],
    },
    {
      http: { path: `/graphql/${nsA}/notes` },
      message: `not routed: path /graphql/${nsA}/notes is inside /graphql/${nsA}/, the default paths of namespace ${nsA}; GraphQLApi ${nsA}/notes serves it`,
      requests: [[`/graphql/${nsA}/notes`]],
      victim: ['/'],
    },
    {
      http: { host: hostA },
      message: `not routed: host ${hostA} is granted to Tenant ${tenantA}, more specific than Tenant ${tenantB}'s *.${zone}; Function ${nsA}/hello serves it`,
      requests: [['/login', hostA]],
      victim: ['/login'],
    },
    {
      http: { path: `${shopPrefix}/checkout` },
      message: `not routed: path ${shopPrefix}/checkout is inside ${shopPrefix}, granted to Tenant ${tenantA}, more specific than Tenant ${tenantB}'s ${catchAll}`,
      requests: [[`${shopPrefix}/checkout/pay`], [`${shopPrefix}/checkout`]],
      victim: ['/checkout/pay', '/checkout'],
    },
  ];
  for (const attack of attacks) {
    await repoint(attack.http);
    const ready = await readyReason(nsB, 'steal', 'RouteConflict');
    assert.equal(ready.status, 'False');
    assert.equal(ready.message, attack.message);
    await eventually('the gateway to drop the refused claim', () => !routed(`${nsB}/steal`));
    const steal = await client.get<FunctionObject & KubeObject>(FunctionType, { namespace: nsB, name: 'steal' });
    assert.ok(steal?.status?.traffic?.length, 'the refused Function still has traffic: the gateway refuses it itself');

    received0();
    for (const [path, host] of attack.requests) {
      assert.deepEqual(await call(path as string, host), { status: 200, who: 'a' }, `${path} ${host ?? ''}`);
    }
    assert.deepEqual(
      received.a.map((r) => r.url),
      attack.victim,
    );
    assert.ok(received.a.every((r) => r.authorization === TOKEN));
    assert.deepEqual(received.b, [], "the attacker received none of team-a's requests");
  }
});

it('gives a host contested inside one tenant to the older Function, and to the next once it is deleted', async () => {
  // Its name sorts after hello's: were both created in the same second, hello is still older.
  await client.create(FunctionType, fnObject(nsA, 'successor', { host: hostA }));
  const conflict = await readyReason(nsA, 'successor', 'RouteConflict');
  assert.equal(conflict.message, `not routed: host ${hostA} is served by Function ${nsA}/hello, which holds it`);
  assert.equal(routed(`${nsA}/successor`), false);

  await client.delete(FunctionType, { namespace: nsA, name: 'hello' });
  await readyReason(nsA, 'successor', 'RevisionsReady');
  await eventually('the gateway to route the next claim', () => routed(`${nsA}/successor`));
  received0();
  assert.deepEqual(await call('/anything', hostA), { status: 200, who: 'a' });
  assert.equal(backend.routes().find((r) => r.host === hostA)?.function, `${nsA}/successor`);
  const successor = await client.get<FunctionObject & KubeObject>(FunctionType, { namespace: nsA, name: 'successor' });
  const { since, ...route } = successor?.status?.route ?? { path: '' };
  assert.deepEqual(route, { path: `/fn/${nsA}/successor`, host: hostA });
  assert.ok(since && !Number.isNaN(Date.parse(since)), 'status.route says since when');
});

it('keeps a host with the Function holding it when an older Function is edited to claim it', async () => {
  // elder is older than successor (created first), so the age rule alone would hand it the host.
  const [elder, successor] = await Promise.all(
    ['elder', 'successor'].map((name) =>
      client.get<FunctionObject & KubeObject>(FunctionType, { namespace: nsA, name }),
    ),
  );
  assert.ok((elder?.metadata.creationTimestamp ?? '') <= (successor?.metadata.creationTimestamp ?? ''));
  await client.mergePatch(FunctionType, { namespace: nsA, name: 'elder' }, { spec: { http: { host: hostA } } });
  const conflict = await readyReason(nsA, 'elder', 'RouteConflict');
  assert.equal(conflict.message, `not routed: host ${hostA} is served by Function ${nsA}/successor, which holds it`);
  await eventually('the gateway to drop the edited claim', () => !routed(`${nsA}/elder`));
  received0();
  for (const host of [hostA, `${hostA}.`, `SHOP.${zone}:8443`]) {
    assert.deepEqual(await call(`${catchAll}/x`, host), { status: 200, who: 'a' }, host);
  }
  assert.deepEqual(
    received.a.map((r) => r.url),
    [`${catchAll}/x`, `${catchAll}/x`, `${catchAll}/x`],
  );
  assert.ok(received.a.every((r) => r.authorization === TOKEN));
  assert.deepEqual(received.elder, [], 'the older Function received none of it');
  assert.deepEqual(received.b, [], "team-b's catch-all received none of it");
  const after = await client.get<FunctionObject & KubeObject>(FunctionType, { namespace: nsA, name: 'elder' });
  assert.equal(after?.status?.route, undefined, 'a refused claim holds nothing');
});

it("answers 404 for team-a's host and prefix once nothing of team-a serves them, never team-b's catch-all", async () => {
  // team-b's catch-all serves again (its own grant), with live traffic.
  await repoint({ path: catchAll });
  await readyReason(nsB, 'steal', 'RevisionsReady');
  await eventually('the attacker routed at its catch-all', () => routed(`${nsB}/steal`));
  for (const name of ['successor', 'elder', 'shop']) await client.delete(FunctionType, { namespace: nsA, name });
  await eventually(
    "the gateway to drop team-a's host and prefix holders",
    () => !routed(`${nsA}/successor`) && !routed(`${nsA}/elder`) && !routed(`${nsA}/shop`),
  );
  received0();
  for (const host of [hostA, `${hostA}.`, `Shop.${zone}:443`]) {
    assert.equal((await call(`${catchAll}/x`, host)).status, 404, host);
  }
  assert.equal((await call(`${shopPrefix}/checkout`)).status, 404);
  assert.deepEqual(received.b, [], "team-b's catch-all received none of team-a's requests");
  // What is team-b's is still team-b's. A host of its *.zone grant that nothing of team-b claims
  // is fenced too: a granted host never reaches path routing.
  assert.deepEqual(await call(`${catchAll}/about`), { status: 200, who: 'b' });
  assert.equal((await call(`${catchAll}/about`, `blog.${zone}`)).status, 404);
});

it('tells a Tenant granted a prefix or host that an older Tenant is granted', async () => {
  await client.create(TenantType, {
    apiVersion: TenantKind.apiVersion,
    kind: TenantKind.kind,
    metadata: { name: tenantC },
    spec: { namespaces: [nsC], routes: { hosts: [hostA], pathPrefixes: [`${shopPrefix}/`] } },
  } as KubeObject);
  await eventually(
    `Tenant ${tenantC} Degraded RouteGrantOverlap`,
    async () => {
      const t = await client.get<TenantObject & KubeObject>(TenantType, { name: tenantC });
      const degraded = getCondition(t?.status?.conditions, 'Degraded');
      return (
        degraded?.reason === 'RouteGrantOverlap' &&
        degraded.status === 'True' &&
        degraded.message ===
          `path prefix ${shopPrefix} is also granted to Tenant ${tenantA}, which is older and holds it; host ${hostA} is also granted to Tenant ${tenantA}, which is older and holds it`
      );
    },
    60_000,
  );
});

// Functions across parts, on the ground's real API server: the operator creates revisions,
// the gateway's Kubernetes backend turns them into routes and endpoints, the autoscaler takes
// an idle revision to zero, and the gateway wakes it again. kwok pods have no network, so no
// request is forwarded to a pod here; the data path is tested with real processes in
// apps/gateway/test.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { before, it } from 'node:test';
import { FunctionKind } from '@plinth/api';
import { build as buildGateway, type Gateway, KubeBackend, listen } from '@plinth/gateway';
import { eventually } from '@plinth/ground';
import { type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { useOperator } from '@plinth/operator/testing';
import { pino } from 'pino';

const FunctionType = resourceOf(FunctionKind);
let backend: KubeBackend;
let gateway: Gateway;
let server: Server;
let url: string;
let clock = 5_000_000;
const t = useOperator('e2e', {
  // kwok's pods run nothing: no warm pool here (test/e2e-pods has it on the real node).
  env: { PLINTH_POOL_SIZE: '0' },
  deps: { now: () => clock },
  beforeStop: async () => {
    server?.close();
    await gateway?.close();
    backend?.stop();
  },
});

before(async () => {
  await t.ready;
  backend = new KubeBackend({ client: t.client, namespace: t.ns });
  await backend.start();
  gateway = buildGateway({ backend, logger: pino({ level: 'silent' }) });
  ({ server, url } = await listen(gateway, { port: 0 }));
});

it('routes a Function, scales its idle revision to zero, and wakes it on demand', async () => {
  await t.client.create(FunctionType, {
    apiVersion: FunctionKind.apiVersion,
    kind: FunctionKind.kind,
    metadata: { name: 'edge', namespace: t.ns },
    spec: {
      runtime: 'node',
      source: { inline: "export default () => 'edge'" },
      http: { path: '/edge' },
      timeoutSeconds: 5,
      scaling: { scaleToZeroAfterSeconds: 5, scaleDownDelaySeconds: 0 },
    },
  } as KubeObject);
  const revision = `${t.ns}/edge-00001`;

  // A Function holds its path from the start; it is routed once its status has traffic.
  const route = await eventually('the gateway to route the function', () =>
    backend.routes().find((r) => r.function === `${t.ns}/edge` && r.targets.length > 0),
  );
  assert.deepEqual(route, {
    function: `${t.ns}/edge`,
    prefix: '/edge',
    timeoutMs: 5000,
    targets: [{ revision, percent: 100 }],
  });
  // Fences for what Tenants are granted (other tests' among them) are listed after the routes.
  const routes = (await (await fetch(`${url}/_/routes`)).json()) as { prefix: string; fence?: string }[];
  assert.deepEqual(
    routes.filter((r) => !r.fence).map((r) => r.prefix),
    ['/edge'],
  );

  const [endpoint] = await eventually('a ready endpoint from the EndpointSlice', () => {
    const e = backend.endpoints(revision);
    return e.length === 1 && e;
  });
  assert.match(endpoint ?? '', /^http:\/\/10\.244\.\d+\.\d+:8080$/);

  // Idle: the autoscaler takes the revision to zero; its endpoints go away.
  await t.operator.autoscaler.step();
  clock += 90_000;
  await t.operator.autoscaler.step();
  await eventually('no endpoints at zero', () => backend.endpoints(revision).length === 0, 30_000);

  // A request would wake it: the backend scales the Deployment up and waits for readiness.
  const t0 = Date.now();
  await backend.wake(revision, AbortSignal.timeout(30_000));
  console.log(`# woke ${revision} on kwok in ${Date.now() - t0} ms`);
  assert.equal(backend.endpoints(revision).length, 1);
  const scaled = await t.client.get<KubeObject & { spec: { replicas: number } }>(Resources.Deployment, {
    namespace: t.ns,
    name: 'edge-00001',
  });
  assert.equal(scaled?.spec.replicas, 1);

  const missing = await fetch(`${url}/nothing-here`);
  assert.equal(missing.status, 404);
});

// Gateway overhead: the same function instance called directly and through the gateway, in
// one run. Throughput at a fixed concurrency, and the latency the gateway adds at concurrency 1;
// then the same for a function doing 1 ms of CPU work per request (ratioCpu1ms).
// Last line: {"ratio", "addedP50Ms", "gatewayRps", "directRps", ...}.
import os from 'node:os';
import { join } from 'node:path';
import { LocalBackend, loadFunctionManifests } from '@plinth/faas';
import { build, listen } from '@plinth/gateway';
import { pino } from 'pino';
import { load, ROOT, round } from './lib/util.ts';

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const runtime = process.env.BENCH_RUNTIME ?? 'node';

const manifests = [
  ...loadFunctionManifests(join(ROOT, 'examples')),
  ...loadFunctionManifests(join(ROOT, 'bench', 'functions')),
];
const hello = manifests.find((m) => m.object.spec.runtime === runtime && m.object.metadata.name?.startsWith('hello-'));
const work = manifests.find((m) => m.object.metadata.name === 'work');
if (!hello || !work) throw new Error(`no example function for runtime ${runtime}`);
const backend = new LocalBackend({ cacheDir: join(ROOT, '.tmp', 'bench'), poolSize: 1 });
const routes = await backend.setFunctions(
  [hello, work].map((m) => ({
    namespace: 'default',
    name: m.object.metadata.name ?? '',
    spec: m.object.spec,
    codeDir: m.dir,
  })),
);
const gateway = build({ backend, logger: pino({ level: 'warn' }) });
const { server, url } = await listen(gateway, { port: 0 });

/** Wakes the function through the gateway; returns direct and gateway URLs to one instance. */
async function urls(fn: string, query: string) {
  const route = routes.find((r) => r.function === `default/${fn}`);
  if (!route) throw new Error(`no route for ${fn}`);
  await fetch(`${url}${route.prefix}${query}`).then((r) => r.arrayBuffer());
  const instance = backend.endpoints(route.targets[0]?.revision ?? '')[0];
  if (!instance) throw new Error(`${fn} did not start`);
  return { direct: `${instance}/${query}`, gateway: `${url}${route.prefix}${query}` };
}

async function arms(label: string, u: { direct: string; gateway: string }, c: number) {
  const direct = await load(u.direct, c, seconds);
  const via = await load(u.gateway, c, seconds);
  console.error(`# ${label} direct  c=${c}: ${JSON.stringify(direct)}`);
  console.error(`# ${label} gateway c=${c}: ${JSON.stringify(via)}`);
  return { direct, via };
}

const noop = await urls(hello.object.metadata.name ?? '', '?name=bench');
console.error(
  `# ${runtime} function, ${concurrency} connections, ${seconds} s per arm, on ${os.availableParallelism()} cores`,
);
const busy = await arms('no-op', noop, concurrency);
const single = await arms('no-op', noop, 1);
const cpu = await arms('1 ms CPU', await urls('work', '?cpu=1'), concurrency);

server.close();
await gateway.close();
await backend.close();
console.log(
  JSON.stringify({
    runtime,
    concurrency,
    ratio: round(busy.via.rps / busy.direct.rps),
    addedP50Ms: round(single.via.p50Ms - single.direct.p50Ms),
    gatewayRps: round(busy.via.rps, 0),
    directRps: round(busy.direct.rps, 0),
    gatewayP99Ms: round(busy.via.p99Ms),
    directP99Ms: round(busy.direct.p99Ms),
    ratioCpu1ms: round(cpu.via.rps / cpu.direct.rps),
    gatewayRpsCpu1ms: round(cpu.via.rps, 0),
    directRpsCpu1ms: round(cpu.direct.rps, 0),
    errors: [busy, single, cpu].reduce((n, a) => n + a.direct.errors + a.via.errors, 0),
  }),
);

// Cold start: a request reaches a revision with no instance, and we time it until its response
// arrives, through the gateway. Node and Python start from warm pools (specialization); Go and
// Java start their compiled function (built beforehand). Last line: per runtime p50Ms, p95Ms.
import { join } from 'node:path';
import { LocalBackend, type LocalFunction, loadFunctionManifests } from '@plinth/faas';
import { build, listen } from '@plinth/gateway';
import { pino } from 'pino';
import { percentile, ROOT, round } from './lib/util.ts';

const iterations: Record<string, number> = {
  node: Number(process.env.BENCH_N ?? 30),
  python: Number(process.env.BENCH_N ?? 30),
  go: Number(process.env.BENCH_N ?? 30),
  java: Math.min(Number(process.env.BENCH_N ?? 30), 15),
};
const only = process.argv[2]?.split(',');
const result: Record<string, { p50Ms: number; p95Ms: number; n: number }> = {};

for (const m of loadFunctionManifests(join(ROOT, 'examples'))) {
  const runtime = m.object.spec.runtime ?? '';
  if (only && !only.includes(runtime)) continue;
  const backend = new LocalBackend({ cacheDir: join(ROOT, '.tmp', 'bench'), poolSize: 2 });
  const gateway = build({ backend, logger: pino({ level: 'warn' }) });
  const { server, url } = await listen(gateway, { port: 0 });
  const base: LocalFunction = {
    namespace: 'default',
    name: m.object.metadata.name ?? '',
    spec: m.object.spec,
    codeDir: m.dir,
  };
  const samples: number[] = [];
  for (let i = 0; i < (iterations[runtime] ?? 10); i++) {
    // A new revision each time (its env differs), so the request finds no instance.
    const [route] = await backend.setFunctions([
      { ...base, spec: { ...base.spec, env: [{ name: 'GREETING', value: `Hello ${i}` }] } },
    ]);
    if (i === 0) await backend.prepare();
    await backend.warm();
    const t0 = performance.now();
    const res = await fetch(`${url}${route?.prefix}?name=cold`);
    const body = (await res.json()) as { message?: string };
    const ms = performance.now() - t0;
    if (res.status !== 200 || body.message !== `Hello ${i}, cold`)
      throw new Error(`${runtime}: bad answer ${res.status} ${JSON.stringify(body)}`);
    samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  result[runtime] = {
    p50Ms: round(percentile(samples, 0.5), 1),
    p95Ms: round(percentile(samples, 0.95), 1),
    n: samples.length,
  };
  console.error(`# ${runtime}: ${samples.map((s) => s.toFixed(1)).join(' ')}`);
  server.close();
  await gateway.close();
  await backend.close();
}
console.log(JSON.stringify(result));

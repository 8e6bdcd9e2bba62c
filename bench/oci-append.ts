// The append build of a function image against the ground's registry: a real Node runtime base
// (the node binary this repository runs on, plus the runtime server) is pushed once; then, five
// times, a function's code (a few KB, changed each run) and its dependencies (pino's ~1 MB) become
// two layers appended to it, the base blobs mounted, not sent. Figures per run: layers (tar +
// gzip), append (resolve base, mount, upload, manifest), publish (append + SPDX SBOM referrer +
// cosign signatures). Last line: {"appendP50Ms", "layersP50Ms", "publishP50Ms", ...}.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ground, requireGround } from '@plinth/ground';
import { append, dirEntries, fromPackageLock, image, layer, publish, push, RegistryClient } from '@plinth/oci';
import { percentile, ROOT, round } from './lib/util.ts';

const runs = Number(process.env.BENCH_RUNS ?? 5);
await requireGround('registry');
const client = new RegistryClient({ host: ground('REGISTRY'), ca: readFileSync(ground('REGISTRY_CA_FILE'), 'utf8') });
const repo = 'bench/oci-append';

const t0 = performance.now();
const nodeLayer = await layer([
  {
    path: 'usr/local/bin/node',
    type: 'file',
    mode: 0o755,
    content: readFileSync(join(ROOT, 'node_modules/node/bin/node')),
  },
]);
const serverLayer = await layer(
  dirEntries(join(ROOT, 'runtimes/node'), { to: 'runtime', exclude: (r) => r === 'template' }),
);
const base = image([nodeLayer, serverLayer], {
  user: '65532:65532',
  entrypoint: ['/usr/local/bin/node', '/runtime/server.ts'],
  workingDir: '/function',
});
const baseUploaded = await push(client, `${repo}/runtime`, 'node', base);
const baseMs = performance.now() - t0;

const deps = dirEntries(join(ROOT, 'node_modules/pino'), { to: 'function/node_modules/pino' });
const depsBytes = deps.reduce((n, e) => n + (e.content?.length ?? 0), 0);
const lock = readFileSync(join(ROOT, 'package-lock.json'), 'utf8');
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const layersMs: number[] = [];
const appendMs: number[] = [];
const publishMs: number[] = [];
const stamp = Date.now().toString(36);
for (let i = 0; i < runs; i++) {
  const code = `export default (req) => ({ hello: req.query.name ?? 'world', run: '${stamp}-${i}' });\n`.repeat(60);
  const l0 = performance.now();
  const layers = [
    await layer(deps),
    await layer([{ path: 'function/index.js', type: 'file', content: Buffer.from(code) }]),
  ];
  layersMs.push(performance.now() - l0);
  const a = await append(client, { base: `${repo}/runtime:node`, target: `${repo}/fn`, tag: `run-${i}`, layers });
  appendMs.push(a.timings.totalMs);
  const p = await publish(client, {
    base: `${repo}/runtime:node`,
    target: `${repo}/fn-signed`,
    tag: `run-${i}`,
    layers,
    sbom: { components: fromPackageLock(lock) },
    key,
  });
  publishMs.push(p.timings.totalMs);
  console.error(
    `run ${i}: layers ${round(layersMs[i] ?? 0, 1)} ms, append ${a.timings.totalMs} ms (${JSON.stringify(a.blobs)}), publish ${p.timings.totalMs} ms`,
  );
}
client.close();

const p50 = (xs: number[]) =>
  round(
    percentile(
      [...xs].sort((a, b) => a - b),
      0.5,
    ),
    1,
  );
console.log(
  JSON.stringify({
    appendP50Ms: p50(appendMs),
    layersP50Ms: p50(layersMs),
    publishP50Ms: p50(publishMs),
    runs,
    baseMB: round((nodeLayer.blob.length + serverLayer.blob.length) / 2 ** 20, 1),
    baseBuildAndPushMs: round(baseMs, 0),
    baseBlobsUploaded: baseUploaded,
    depsKB: round(depsBytes / 1024, 0),
  }),
);

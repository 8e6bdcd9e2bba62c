// The append build against the ground's registry (CNCF distribution 3, TLS from the ground CA):
// a base image pushed with image()/push(), an index resolved to linux/amd64, a function
// appended to it with the base's blobs mounted (crane validates the result), the same digest
// twice, an SPDX SBOM listed as a referrer (through the `sha256-<hex>` tag schema: this
// registry has no referrers API), and cosign signatures checked by our verify() and, where the
// binary is built, by `cosign verify --key --insecure-ignore-tlog` itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ground, requireGround, uniqueName } from '@plinth/ground';
import {
  type Appended,
  append,
  COSIGN,
  fromPackageLock,
  image,
  type Layer,
  layer,
  MANIFEST_TYPES,
  publicKeyPem,
  publish,
  push,
  type Registry,
  RegistryClient,
  referrersTag,
  SignatureError,
  SPDX_MEDIA_TYPE,
  sign,
  signatureTag,
  verify,
} from '../src/index.ts';

/** Where `cosign` v3 is looked for: $PLINTH_COSIGN, else the ground's cache. */
const COSIGN_BIN =
  process.env.PLINTH_COSIGN ?? join(homedir(), '.cache', 'plinth-ground', 'bin', 'cosign-v3.1.3', 'cosign');

/** Incompressible bytes, the same every run: a sha256 chain. */
function bytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < size; i += 32) {
    block.copy(out, i);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

const file = (path: string, content: Buffer | string) => ({
  path,
  type: 'file' as const,
  content: typeof content === 'string' ? Buffer.from(content) : content,
});

let reg: Registry;
let client: RegistryClient;
const ns = uniqueName('oci-test');
const baseRepo = `${ns}/runtime`;
const target = `${ns}/hello`;
let baseLayers: Layer[];
let fnLayers: Layer[];
let first: Appended;
/** An image whose .sig tag holds the first image's signature, moved there. */
let moved: string;
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const work = mkdtempSync(join(tmpdir(), 'plinth-oci-'));

const craneEnv = () => ({ ...process.env, SSL_CERT_FILE: ground('REGISTRY_CA_FILE') });

before(async () => {
  await requireGround('registry');
  reg = { host: ground('REGISTRY'), ca: readFileSync(ground('REGISTRY_CA_FILE'), 'utf8') };
  client = new RegistryClient(reg);
  baseLayers = [
    await layer([
      file('usr/local/bin/runtime', bytes('runtime', 2 << 20)),
      file('etc/passwd', 'app:x:65532:65532::/:\n'),
    ]),
    await layer([file('usr/lib/runtime/lib.so', bytes('lib', 512 << 10))]),
  ];
  const amd64 = image(baseLayers, {
    user: '65532:65532',
    entrypoint: ['/usr/local/bin/runtime'],
    cmd: ['serve'],
    env: { PATH: '/usr/local/bin:/usr/bin' },
  });
  await push(reg, baseRepo, 'amd64', amd64);
  // An index with a second platform: append must pick linux/amd64 from it.
  const armLayer = await layer([file('usr/local/bin/runtime', 'arm64')]);
  const arm = image([armLayer], { user: '65532:65532', entrypoint: ['/usr/local/bin/runtime'] });
  await push(reg, baseRepo, 'arm64', arm);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPES.ociIndex,
      manifests: [
        {
          mediaType: MANIFEST_TYPES.ociManifest,
          digest: arm.digest,
          size: arm.manifest.length,
          platform: { os: 'linux', architecture: 'arm64' },
        },
        {
          mediaType: MANIFEST_TYPES.ociManifest,
          digest: amd64.digest,
          size: amd64.manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    }),
  );
  await client.putManifest(baseRepo, 'v1', index, MANIFEST_TYPES.ociIndex);
  fnLayers = [
    await layer([file('app/node_modules/dep/index.js', bytes('deps', 1 << 20).toString('base64'))]),
    await layer([file('app/index.js', 'export default (req) => ({ hello: req.query.name });\n'.repeat(40))]),
  ];
});

after(() => {
  client?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the registry client', () => {
  it('reads a manifest by tag and by digest, and resolves an index to linux/amd64', async () => {
    const byTag = await client.manifest(baseRepo, 'v1');
    const amd64 = await client.manifest(baseRepo, 'amd64');
    assert.equal(byTag.digest, amd64.digest);
    assert.deepEqual(
      byTag.json.layers?.map((l) => l.digest),
      baseLayers.map((l) => l.digest),
    );
    const index = await client.manifest(baseRepo, 'v1', { index: true });
    assert.equal(index.mediaType, MANIFEST_TYPES.ociIndex);
    const arm = await client.manifest(baseRepo, 'v1', { platform: { os: 'linux', architecture: 'arm64' } });
    assert.notEqual(arm.digest, amd64.digest);
    assert.equal((await client.manifest(baseRepo, amd64.digest)).digest, amd64.digest);
    await assert.rejects(
      client.manifest(baseRepo, 'v1', { platform: { os: 'windows', architecture: 'amd64' } }),
      /no windows\/amd64 image/,
    );
  });

  it('checks blobs with HEAD and mounts them across repositories', async () => {
    const l = baseLayers[1] as Layer;
    const other = `${ns}/mount`;
    assert.equal(await client.hasBlob(other, l.digest), false);
    assert.equal(await client.mountBlob(other, l.digest, baseRepo), 'mounted');
    assert.equal(await client.hasBlob(other, l.digest), true);
    assert.equal(await client.mountBlob(other, l.digest, baseRepo), 'present');
    assert.deepEqual(await client.blob(other, l.digest), l.blob);
  });
});

describe('append', () => {
  const hello = (tag: string) => ({
    base: `${baseRepo}:v1`,
    target,
    tag,
    layers: fnLayers,
    config: {
      env: { FUNCTION: 'hello' },
      cmd: ['serve', '/app/index.js'],
      workingDir: '/app',
      labels: { 'plinth.dev/function': 'hello' },
    },
  });

  it('pushes base + new layers with the base blobs mounted, not sent', async () => {
    first = await append(client, hello('v1'));
    assert.deepEqual(first.blobs, { mounted: 2, present: 0, copied: 0, uploaded: 3 });
    const m = await client.manifest(target, 'v1');
    assert.equal(m.digest, first.digest);
    assert.deepEqual(
      m.json.layers?.map((l) => l.digest),
      [...baseLayers, ...fnLayers].map((l) => l.digest),
    );
    const config = JSON.parse((await client.blob(target, m.json.config?.digest ?? '')).toString());
    assert.deepEqual(
      config.rootfs.diff_ids,
      [...baseLayers, ...fnLayers].map((l) => l.diffId),
    );
    assert.equal(config.history.length, 4);
    assert.deepEqual(config.config.Env, ['PATH=/usr/local/bin:/usr/bin', 'FUNCTION=hello']);
    assert.deepEqual(config.config.Entrypoint, ['/usr/local/bin/runtime']);
    assert.deepEqual(config.config.Cmd, ['serve', '/app/index.js']);
    assert.equal(config.config.User, '65532:65532');
    assert.ok(first.timings.totalMs > 0);
  });

  it('is valid for crane, which reads every blob back', () => {
    execFileSync(ground('CRANE'), ['validate', '--remote', `${reg.host}/${target}@${first.digest}`], {
      env: craneEnv(),
      stdio: 'pipe',
    });
  });

  it('gives the same digest again, sending nothing but the manifest', async () => {
    const again = await append(client, hello('v2'));
    assert.equal(again.digest, first.digest);
    assert.deepEqual(again.blobs, { mounted: 0, present: 5, copied: 0, uploaded: 0 });
  });
});

describe('SBOM referrer and signatures', () => {
  it('lists the SPDX SBOM as a referrer (the tag schema on this registry) and signs, in one publish', async () => {
    const lock = JSON.stringify({
      lockfileVersion: 3,
      packages: { '': { name: 'hello' }, 'node_modules/dep': { version: '1.2.3', license: 'MIT' } },
    });
    const p = await publish(client, {
      base: `${baseRepo}:v1`,
      target,
      tag: 'v3',
      layers: fnLayers,
      config: { cmd: ['other'] },
      sbom: { components: fromPackageLock(lock) },
      key,
    });
    const refs = await client.referrers(target, p.digest);
    assert.deepEqual(refs.map((r) => r.artifactType).sort(), [SPDX_MEDIA_TYPE, COSIGN.bundleMediaType].sort());
    const sbomRefs = await client.referrers(target, p.digest, SPDX_MEDIA_TYPE);
    assert.equal(sbomRefs.length, 1);
    // distribution 3.1 has no referrers API, so the referrers tag schema's index holds them.
    const viaApi = await client.request('GET', `/v2/${target}/referrers/${p.digest}`, { scopes: [] });
    assert.equal(viaApi.status, 404);
    const index = await client.manifest(target, referrersTag(p.digest), { index: true });
    assert.equal(index.json.manifests?.length, 2);
    const sbomManifest = await client.manifest(target, sbomRefs[0]?.digest ?? '');
    assert.equal(sbomManifest.json.subject?.digest, p.digest);
    assert.equal(sbomManifest.json.artifactType, SPDX_MEDIA_TYPE);
    const doc = JSON.parse((await client.blob(target, sbomManifest.json.layers?.[0]?.digest ?? '')).toString());
    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.packages[1].externalRefs[0].referenceLocator, 'pkg:npm/dep@1.2.3');
    assert.deepEqual(
      (await verify(client, { repo: target, digest: p.digest, publicKey: publicKeyPem(key) }))
        .map((v) => v.format)
        .sort(),
      ['bundle', 'simple'],
    );
  });

  it('signs an image so that verify() accepts it, and refuses a tampered digest or another key', async () => {
    const signed = await sign(client, { repo: target, digest: first.digest, key });
    assert.ok(signed.bundle && signed.simple);
    assert.equal(signed.simple.tag, signatureTag(first.digest));
    const pub = publicKeyPem(key);
    const ok = await verify(client, { repo: target, digest: first.digest, publicKey: pub });
    assert.deepEqual(ok.map((v) => v.format).sort(), ['bundle', 'simple']);
    const other = publicKeyPem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    await assert.rejects(verify(client, { repo: target, digest: first.digest, publicKey: other }), SignatureError);
    // The base's digest: nothing signed it.
    const base = (await client.manifest(baseRepo, 'amd64')).digest;
    await assert.rejects(verify(client, { repo: baseRepo, digest: base, publicKey: pub }), /none found/);
    // A signature moved onto another image: the payloads name the first digest, so both fail.
    const copy = await append(client, { base: `${baseRepo}:v1`, target, layers: fnLayers.slice(0, 1) });
    const sigManifest = await client.manifest(target, signatureTag(first.digest));
    await client.putManifest(target, signatureTag(copy.digest), sigManifest.body, MANIFEST_TYPES.ociManifest);
    moved = copy.digest;
    await assert.rejects(
      verify(client, { repo: target, digest: copy.digest, publicKey: pub }),
      /names sha256:[0-9a-f]+, not/,
    );
  });

  it('is verified by cosign itself (cosign verify --key --insecure-ignore-tlog)', (t) => {
    if (!existsSync(COSIGN_BIN)) {
      t.skip(`cosign is not built at ${COSIGN_BIN}`);
      return;
    }
    const pubFile = join(work, 'cosign.pub');
    writeFileSync(pubFile, publicKeyPem(key));
    const env = { ...craneEnv(), COSIGN_EXPERIMENTAL: '0', HOME: work, TUF_ROOT: join(work, 'tuf') };
    const ref = `${reg.host}/${target}@${first.digest}`;
    const run = (...args: string[]) =>
      execFileSync(COSIGN_BIN, ['verify', '--key', pubFile, '--insecure-ignore-tlog', ...args, ref], {
        env,
        stdio: 'pipe',
      }).toString();
    // cosign v3 reads the bundle referrer first (found through the referrers tag schema here)...
    const [bundle] = JSON.parse(run());
    assert.equal(bundle.critical.type, COSIGN.signPredicateType);
    assert.equal(bundle.critical.image['docker-manifest-digest'], first.digest);
    // ...and the simple signature under the .sig tag when told to use the old format.
    const [simple] = JSON.parse(run('--new-bundle-format=false'));
    assert.equal(simple.critical.type, COSIGN.simpleSigningType);
    assert.equal(simple.critical.image['docker-manifest-digest'], first.digest);
    // The signature moved onto another image names the first digest: cosign refuses it too.
    assert.throws(
      () =>
        execFileSync(
          COSIGN_BIN,
          ['verify', '--key', pubFile, '--insecure-ignore-tlog', `${reg.host}/${target}@${moved}`],
          { env, stdio: 'pipe' },
        ),
      /no matching signatures|invalid or missing digest/,
    );
    const other = join(work, 'other.pub');
    writeFileSync(other, publicKeyPem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey));
    assert.throws(() =>
      execFileSync(COSIGN_BIN, ['verify', '--key', other, '--insecure-ignore-tlog', ref], { env, stdio: 'pipe' }),
    );
  });
});

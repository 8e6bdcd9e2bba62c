// The pure parts of append, referrers and signing: the new config and manifest from a base's,
// an artifact's manifest, cosign's payloads and signatures checked (and a tampered digest or
// another key refused), and docker config.json credentials.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  appendConfig,
  appendManifest,
  artifactManifest,
  COSIGN,
  credentialsFromDockerConfig,
  EMPTY_CONFIG,
  image,
  layer,
  MANIFEST_TYPES,
  pae,
  parseRef,
  publicKeyPem,
  referrersTag,
  SignatureError,
  sha256,
  signatureBundle,
  signatureTag,
  signPayload,
  simpleSigningPayload,
  verifyBundle,
  verifySimpleSigning,
} from '../src/index.ts';

const file = (path: string, text: string) => ({ path, type: 'file' as const, content: Buffer.from(text) });

describe('appendConfig and appendManifest', async () => {
  const baseLayer = await layer([file('usr/bin/runtime', 'runtime')]);
  const base = image([baseLayer], {
    user: '65532:65532',
    entrypoint: ['/usr/bin/runtime'],
    cmd: ['serve'],
    env: { PATH: '/usr/bin', MODE: 'base' },
    workingDir: '/',
    labels: { 'org.opencontainers.image.title': 'runtime' },
  });
  const code = await layer([file('app/index.js', 'export default () => "hi"')]);

  it('appends diff_ids and history, applies the settings, keeps the rest of the base', () => {
    const c = JSON.parse(
      appendConfig(base.config, [code], {
        env: { MODE: 'fn', FN: 'hello' },
        entrypoint: ['/usr/bin/runtime', '--fn'],
        workingDir: '/app',
        labels: { 'plinth.dev/function': 'hello' },
      }).toString(),
    );
    assert.deepEqual(c.rootfs.diff_ids, [baseLayer.diffId, code.diffId]);
    assert.deepEqual(c.history, [{ created_by: 'plinth images' }, { created_by: 'plinth append' }]);
    assert.deepEqual(c.config.Env, ['MODE=fn', 'PATH=/usr/bin', 'FN=hello']);
    assert.deepEqual(c.config.Entrypoint, ['/usr/bin/runtime', '--fn']);
    assert.equal(c.config.Cmd, undefined, 'a new entrypoint drops the base cmd');
    assert.equal(c.config.User, '65532:65532');
    assert.equal(c.config.WorkingDir, '/app');
    assert.deepEqual(c.config.Labels, { 'org.opencontainers.image.title': 'runtime', 'plinth.dev/function': 'hello' });
    assert.equal(c.architecture, 'amd64');
    assert.equal(c.created, undefined);
  });

  it('drops the base time and is the same for the same inputs', () => {
    const withTime = Buffer.from(
      JSON.stringify({ ...JSON.parse(base.config.toString()), created: '2026-01-01T00:00:00Z' }),
    );
    const a = appendConfig(withTime, [code], { cmd: ['x'] });
    assert.deepEqual(a, appendConfig(withTime, [code], { cmd: ['x'] }));
    assert.doesNotMatch(a.toString(), /created"/);
    assert.deepEqual(JSON.parse(a.toString()).config.Cmd, ['x']);
  });

  it('keeps the base layer descriptors as they are and names the base', () => {
    const config = appendConfig(base.config, [code]);
    const baseManifest = {
      digest: base.digest,
      mediaType: MANIFEST_TYPES.ociManifest,
      body: base.manifest,
      json: JSON.parse(base.manifest.toString()),
    };
    const m = appendManifest(baseManifest, config, [code], 'reg/runtime:1');
    const j = JSON.parse(m.body.toString());
    assert.equal(m.mediaType, MANIFEST_TYPES.ociManifest);
    assert.deepEqual(j.layers[0], baseManifest.json.layers[0]);
    assert.deepEqual(j.layers[1], {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: code.digest,
      size: code.blob.length,
    });
    assert.deepEqual(j.config, {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: config.length,
    });
    assert.deepEqual(j.annotations, {
      'org.opencontainers.image.base.digest': base.digest,
      'org.opencontainers.image.base.name': 'reg/runtime:1',
    });
    const docker = appendManifest({ ...baseManifest, mediaType: MANIFEST_TYPES.dockerManifest }, config, [code], 'x');
    assert.equal(
      JSON.parse(docker.body.toString()).layers[1].mediaType,
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
    );
  });
});

describe('references and artifacts', () => {
  it('parses references and names the referrers and signature tags', () => {
    assert.deepEqual(parseRef('fns/hello:v1'), { repo: 'fns/hello', reference: 'v1' });
    assert.deepEqual(parseRef(`fns/hello@sha256:${'b'.repeat(64)}`), {
      repo: 'fns/hello',
      reference: `sha256:${'b'.repeat(64)}`,
    });
    assert.deepEqual(parseRef('fns/hello'), { repo: 'fns/hello', reference: 'latest' });
    assert.equal(referrersTag(`sha256:${'c'.repeat(64)}`), `sha256-${'c'.repeat(64)}`);
    assert.equal(signatureTag(`sha256:${'c'.repeat(64)}`), `sha256-${'c'.repeat(64)}.sig`);
  });

  it('writes an artifact manifest with its type, the empty config and the subject', () => {
    const subject = { mediaType: MANIFEST_TYPES.ociManifest, digest: `sha256:${'d'.repeat(64)}`, size: 123 };
    const blob = Buffer.from('{"spdxVersion":"SPDX-2.3"}');
    const m = JSON.parse(artifactManifest({ subject, artifactType: 'application/spdx+json', blob }).toString());
    assert.equal(m.artifactType, 'application/spdx+json');
    assert.deepEqual(m.config, {
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: EMPTY_CONFIG.digest,
      size: 2,
    });
    assert.equal(EMPTY_CONFIG.digest, 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    assert.deepEqual(m.layers, [{ mediaType: 'application/spdx+json', digest: sha256(blob), size: blob.length }]);
    assert.deepEqual(m.subject, subject);
  });

  it('reads credentials from a docker config.json', () => {
    const auth = Buffer.from('robot:s3cr:et').toString('base64');
    assert.deepEqual(credentialsFromDockerConfig(JSON.stringify({ auths: { 'reg:5000': { auth } } }), 'reg:5000'), {
      username: 'robot',
      password: 's3cr:et',
    });
    assert.deepEqual(
      credentialsFromDockerConfig(
        JSON.stringify({ auths: { 'https://reg': { username: 'u', password: 'p' } } }),
        'reg',
      ),
      { username: 'u', password: 'p' },
    );
    assert.equal(credentialsFromDockerConfig(JSON.stringify({ auths: {} }), 'reg'), undefined);
  });
});

describe('cosign signatures', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pub = publicKeyPem(key);
  const other = publicKeyPem(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
  const digest = `sha256:${'e'.repeat(64)}`;
  const tampered = `sha256:${'f'.repeat(64)}`;

  it('encodes DSSE PAE as the spec does', () => {
    assert.equal(
      pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(),
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('signs a bundle that verifies with the public key and names the digest', () => {
    const bundle = signatureBundle(digest, key);
    const b = JSON.parse(bundle.toString());
    assert.equal(b.mediaType, COSIGN.bundleMediaType);
    assert.equal(b.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
    const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString());
    assert.deepEqual(st, {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: 'e'.repeat(64) } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    });
    verifyBundle(bundle, digest, pub);
    assert.throws(() => verifyBundle(bundle, tampered, pub), /does not name/);
    assert.throws(() => verifyBundle(bundle, digest, other), /not signed by this key/);
    const forged = JSON.stringify({
      ...b,
      dsseEnvelope: {
        ...b.dsseEnvelope,
        payload: Buffer.from(JSON.stringify({ ...st, subject: [{ digest: { sha256: 'f'.repeat(64) } }] })).toString(
          'base64',
        ),
      },
    });
    assert.throws(() => verifyBundle(forged, tampered, pub), SignatureError);
  });

  it('signs the simple signing payload that cosign v1/v2 verify', () => {
    const payload = simpleSigningPayload('reg/fns/hello', digest);
    assert.deepEqual(JSON.parse(payload.toString()), {
      critical: {
        identity: { 'docker-reference': 'reg/fns/hello' },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    });
    const sig = signPayload(payload, key);
    verifySimpleSigning(payload, sig, digest, pub);
    assert.throws(() => verifySimpleSigning(payload, sig, tampered, pub), /names sha256:e+, not sha256:f+/);
    assert.throws(
      () => verifySimpleSigning(simpleSigningPayload('reg/fns/hello', tampered), sig, tampered, pub),
      /not signed/,
    );
    assert.throws(() => verifySimpleSigning(payload, sig, digest, other), /not signed by this key/);
  });

  it('refuses a key that is not ECDSA P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    assert.throws(() => signatureBundle(digest, rsa), /ECDSA P-256/);
  });
});

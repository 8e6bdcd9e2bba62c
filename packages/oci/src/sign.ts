// Signatures that `cosign verify --key` accepts, made with an ECDSA P-256 key and no
// transparency log (verify with `--insecure-ignore-tlog`), in both of cosign's formats:
// - `bundle` (cosign v3's default): a Sigstore bundle v0.3 holding a DSSE envelope of an
//   in-toto statement whose subject is the image digest (predicate type
//   https://sigstore.dev/cosign/sign/v1), pushed as an OCI 1.1 referrer of the image
//   (artifactType application/vnd.dev.sigstore.bundle.v0.3+json);
// - `simple` (cosign v1/v2, still verified by v3, and what older policy engines read): the
//   "simple signing" payload naming the digest, as the layer of a manifest tagged
//   `sha256-<hex>.sig`, its base64 signature in the annotation dev.cosignproject.cosign/signature.
// Formats as in sigstore/cosign: specs/SIGNATURE_SPEC.md, cmd/cosign/cli/sign/sign.go
// (signDigestBundle), pkg/oci/remote/write.go (WriteAttestationNewBundleFormat, WriteReferrer),
// pkg/cosign/verifiers.go (IntotoSubjectClaimVerifier, SimpleClaimVerifier).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { sha256 } from './layer.ts';
import { attach, subjectOf } from './referrers.ts';
import { type Descriptor, MANIFEST_TYPES, type Registry, RegistryClient, RegistryError } from './registry.ts';

export const COSIGN = {
  bundleMediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  signPredicateType: 'https://sigstore.dev/cosign/sign/v1',
  intotoPayloadType: 'application/vnd.in-toto+json',
  intotoStatementType: 'https://in-toto.io/Statement/v1',
  simpleSigningMediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
  simpleSigningType: 'cosign container image signature',
  signatureAnnotation: 'dev.cosignproject.cosign/signature',
} as const;

export type SignatureFormat = 'bundle' | 'simple';

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

/** An ECDSA P-256 private key from PEM (PKCS#8 or SEC1), or a KeyObject. */
export function signingKey(key: string | KeyObject): KeyObject {
  const k = typeof key === 'string' ? createPrivateKey(key) : key;
  if (k.type !== 'private' || k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SignatureError('the signing key must be an ECDSA P-256 private key (PEM)');
  }
  return k;
}

/** The public key as PEM (SPKI), the form `cosign verify --key` reads. */
export const publicKeyPem = (key: string | KeyObject): string =>
  createPublicKey(typeof key === 'string' ? key : key)
    .export({ type: 'spki', format: 'pem' })
    .toString();

const publicKey = (key: string | KeyObject) => {
  const k = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SignatureError('the verification key must be an ECDSA P-256 public key (PEM)');
  }
  return k;
};

/** DSSE's pre-authentication encoding: what the signature of an envelope is over. */
export const pae = (type: string, body: Buffer) =>
  Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);

const hex = (digest: string) => {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m?.[1]) throw new SignatureError(`"${digest}" is not a sha256 digest`);
  return m[1];
};

/** The in-toto statement cosign v3 signs for an image: subject = the manifest digest. */
export const signStatement = (digest: string): Buffer =>
  Buffer.from(
    JSON.stringify({
      _type: COSIGN.intotoStatementType,
      subject: [{ digest: { sha256: hex(digest) } }],
      predicateType: COSIGN.signPredicateType,
      predicate: {},
    }),
  );

/** A Sigstore bundle v0.3 (protobuf JSON) with a DSSE envelope over signStatement(digest). */
export function signatureBundle(digest: string, key: string | KeyObject): Buffer {
  const k = signingKey(key);
  const statement = signStatement(digest);
  const sig = cryptoSign('sha256', pae(COSIGN.intotoPayloadType, statement), k);
  const spki = createPublicKey(k).export({ type: 'spki', format: 'der' });
  return Buffer.from(
    JSON.stringify({
      mediaType: COSIGN.bundleMediaType,
      verificationMaterial: { publicKey: { hint: createHash('sha256').update(spki).digest('base64') } },
      dsseEnvelope: {
        payload: statement.toString('base64'),
        payloadType: COSIGN.intotoPayloadType,
        signatures: [{ sig: sig.toString('base64') }],
      },
    }),
  );
}

/** Checks a bundle's DSSE signature against `key` and that its statement names `digest`. */
export function verifyBundle(bundle: Buffer | string, digest: string, key: string | KeyObject): void {
  const b = JSON.parse(bundle.toString()) as {
    mediaType?: string;
    dsseEnvelope?: { payload?: string; payloadType?: string; signatures?: { sig?: string }[] };
  };
  const env = b.dsseEnvelope;
  if (!b.mediaType?.startsWith('application/vnd.dev.sigstore.bundle') || !env?.payload || !env.payloadType) {
    throw new SignatureError('not a Sigstore bundle with a DSSE envelope');
  }
  const body = Buffer.from(env.payload, 'base64');
  const k = publicKey(key);
  const ok = (env.signatures ?? []).some(
    (s) => !!s.sig && cryptoVerify('sha256', pae(env.payloadType as string, body), k, Buffer.from(s.sig, 'base64')),
  );
  if (!ok) throw new SignatureError('the bundle is not signed by this key');
  if (env.payloadType !== COSIGN.intotoPayloadType)
    throw new SignatureError(`unexpected payload type ${env.payloadType}`);
  const st = JSON.parse(body.toString()) as { subject?: { digest?: Record<string, string> }[] };
  if (!st.subject?.some((s) => `sha256:${s.digest?.sha256}` === digest)) {
    throw new SignatureError(`the signed statement does not name ${digest}`);
  }
}

/** The simple signing payload of cosign v1/v2 for an image digest. */
export const simpleSigningPayload = (dockerReference: string, digest: string): Buffer =>
  Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': `sha256:${hex(digest)}` },
        type: COSIGN.simpleSigningType,
      },
      optional: null,
    }),
  );

/** ECDSA-P256-SHA256 over the payload, DER, base64: the annotation's value. */
export const signPayload = (payload: Buffer, key: string | KeyObject): string =>
  cryptoSign('sha256', payload, signingKey(key)).toString('base64');

/** Checks a simple signing payload's signature against `key` and that it names `digest`. */
export function verifySimpleSigning(payload: Buffer, signature: string, digest: string, key: string | KeyObject): void {
  if (!cryptoVerify('sha256', payload, publicKey(key), Buffer.from(signature, 'base64'))) {
    throw new SignatureError('the payload is not signed by this key');
  }
  const p = JSON.parse(payload.toString()) as { critical?: { image?: Record<string, string>; type?: string } };
  if (p.critical?.type !== COSIGN.simpleSigningType)
    throw new SignatureError(`unexpected payload type ${p.critical?.type}`);
  const named = p.critical.image?.['docker-manifest-digest'];
  if (named !== digest) throw new SignatureError(`the signed payload names ${named}, not ${digest}`);
}

/** cosign's tag for the simple signatures of a digest: `sha256-<hex>.sig`. */
export const signatureTag = (digest: string) => `sha256-${hex(digest)}.sig`;

export interface SignOptions {
  /** The repository of the image; its signatures go there too. */
  repo: string;
  /** The image's manifest digest. */
  digest: string;
  /** ECDSA P-256 private key (PEM). */
  key: string | KeyObject;
  /** The image's descriptor, when the caller has it (saves reading the manifest). */
  subject?: Descriptor;
  /** Default both: the bundle for cosign v3 and OCI 1.1 tools, the simple signature for older verifiers. */
  formats?: SignatureFormat[];
}

export interface Signed {
  bundle?: Descriptor;
  simple?: { tag: string; digest: string };
}

const client = (r: Registry | RegistryClient) => (r instanceof RegistryClient ? r : new RegistryClient(r));

/** Signs an image in the registry, in the formats asked for. */
export async function sign(registry: Registry | RegistryClient, o: SignOptions): Promise<Signed> {
  const c = client(registry);
  try {
    const formats = o.formats ?? ['bundle', 'simple'];
    const key = signingKey(o.key);
    const out: Signed = {};
    if (formats.includes('bundle')) {
      out.bundle = await attach(c, {
        repo: o.repo,
        subject: o.subject ?? (await subjectOf(c, o.repo, o.digest)),
        artifactType: COSIGN.bundleMediaType,
        blob: signatureBundle(o.digest, key),
        mediaType: COSIGN.bundleMediaType,
        annotations: {
          'dev.sigstore.bundle.content': 'dsse-envelope',
          'dev.sigstore.bundle.predicateType': COSIGN.signPredicateType,
        },
      });
    }
    if (formats.includes('simple')) {
      const payload = simpleSigningPayload(`${c.registry.host}/${o.repo}`, o.digest);
      out.simple = await putSimpleSignature(c, o.repo, o.digest, payload, signPayload(payload, key));
    }
    return out;
  } finally {
    if (c !== registry) c.close();
  }
}

/** Adds one layer (payload + signature annotation) to the `.sig` manifest, keeping the others there. */
async function putSimpleSignature(c: RegistryClient, repo: string, digest: string, payload: Buffer, signature: string) {
  const tag = signatureTag(digest);
  let layers: Descriptor[] = [];
  try {
    layers = (await c.manifest(repo, tag)).json.layers ?? [];
  } catch (e) {
    if (!(e instanceof RegistryError && e.status === 404)) throw e;
  }
  const layer: Descriptor = {
    mediaType: COSIGN.simpleSigningMediaType,
    digest: sha256(payload),
    size: payload.length,
    annotations: { [COSIGN.signatureAnnotation]: signature },
  };
  layers = [...layers.filter((l) => l.digest !== layer.digest), layer];
  await c.ensureBlob(repo, layer.digest, payload);
  // The config of cosign's signature images: an OCI image config with the payloads as diff_ids.
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      config: {},
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  await c.ensureBlob(repo, sha256(config), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPES.ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha256(config) },
      layers,
    }),
  );
  const put = await c.putManifest(repo, tag, manifest, MANIFEST_TYPES.ociManifest);
  return { tag, digest: put.digest };
}

export interface Verified {
  format: SignatureFormat;
  /** Where the signature was found: the referrer's digest, or the `.sig` tag. */
  from: string;
}

/**
 * Finds the image's signatures (bundle referrers and the `.sig` tag) and checks them against
 * `publicKey`: each verified one is returned; none is a SignatureError that says what was found.
 */
export async function verify(
  registry: Registry | RegistryClient,
  o: { repo: string; digest: string; publicKey: string | KeyObject },
): Promise<Verified[]> {
  const c = client(registry);
  try {
    const out: Verified[] = [];
    const failures: string[] = [];
    for (const d of await c.referrers(o.repo, o.digest, COSIGN.bundleMediaType)) {
      try {
        const m = await c.manifest(o.repo, d.digest);
        const layer = m.json.layers?.find((l) => l.mediaType.startsWith('application/vnd.dev.sigstore.bundle'));
        if (!layer) throw new SignatureError('no bundle layer');
        if (m.json.subject?.digest !== o.digest) throw new SignatureError(`its subject is ${m.json.subject?.digest}`);
        verifyBundle(await c.blob(o.repo, layer.digest), o.digest, o.publicKey);
        out.push({ format: 'bundle', from: d.digest });
      } catch (e) {
        failures.push(`bundle ${d.digest}: ${(e as Error).message}`);
      }
    }
    let sigLayers: Descriptor[] = [];
    try {
      sigLayers = (await c.manifest(o.repo, signatureTag(o.digest))).json.layers ?? [];
    } catch (e) {
      if (!(e instanceof RegistryError && e.status === 404)) throw e;
    }
    for (const l of sigLayers) {
      try {
        const sig = l.annotations?.[COSIGN.signatureAnnotation];
        if (!sig) throw new SignatureError('no signature annotation');
        verifySimpleSigning(await c.blob(o.repo, l.digest), sig, o.digest, o.publicKey);
        out.push({ format: 'simple', from: signatureTag(o.digest) });
      } catch (e) {
        failures.push(`${signatureTag(o.digest)} layer ${l.digest}: ${(e as Error).message}`);
      }
    }
    if (!out.length) {
      throw new SignatureError(
        `no signature of ${o.repo}@${o.digest} verifies with this key${failures.length ? ` (${failures.join('; ')})` : ' (none found)'}`,
      );
    }
    return out;
  } finally {
    if (c !== registry) c.close();
  }
}

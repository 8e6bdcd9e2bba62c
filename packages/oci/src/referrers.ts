// OCI 1.1 artifacts attached to an image: a manifest with an `artifactType`, the empty config,
// one layer (an SBOM, a signature bundle) and a `subject` naming the image, pushed by digest.
// `GET /v2/<repo>/referrers/<digest>` lists it where the registry has the referrers API; where
// it has not (CNCF distribution 3.x), the `sha256-<hex>` tag's index is kept up to date
// instead, the fallback of the distribution spec that cosign, oras and crane also read.
import { sha256 } from './layer.ts';
import { type Descriptor, MANIFEST_TYPES, type Registry, RegistryClient } from './registry.ts';

/** The empty JSON config of artifacts (image-spec 1.1 "empty descriptor"). */
export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: sha256('{}'),
  size: 2,
  data: Buffer.from('{}'),
} as const;

export interface Artifact {
  repo: string;
  /** The image it is about: its descriptor (subjectOf reads one). */
  subject: Descriptor;
  artifactType: string;
  blob: Buffer;
  /** The layer's media type; default the artifactType. */
  mediaType?: string;
  annotations?: Record<string, string>;
}

/** The descriptor of the manifest `digest` in `repo`, as a `subject` names it. */
export async function subjectOf(c: RegistryClient, repo: string, digest: string): Promise<Descriptor> {
  const m = await c.manifest(repo, digest, { index: true });
  return { mediaType: m.mediaType, digest: m.digest, size: m.body.length };
}

/** The artifact's manifest: deterministic for the same inputs. */
export function artifactManifest(a: Omit<Artifact, 'repo'>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPES.ociManifest,
      artifactType: a.artifactType,
      config: { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
      layers: [{ mediaType: a.mediaType ?? a.artifactType, digest: sha256(a.blob), size: a.blob.length }],
      subject: { mediaType: a.subject.mediaType, digest: a.subject.digest, size: a.subject.size },
      ...(a.annotations ? { annotations: a.annotations } : {}),
    }),
  );
}

/** Pushes an artifact as a referrer of its subject; returns its descriptor. */
export async function attach(registry: Registry | RegistryClient, a: Artifact): Promise<Descriptor> {
  const c = registry instanceof RegistryClient ? registry : new RegistryClient(registry);
  try {
    await Promise.all([
      c.ensureBlob(a.repo, EMPTY_CONFIG.digest, EMPTY_CONFIG.data),
      c.ensureBlob(a.repo, sha256(a.blob), a.blob),
    ]);
    return await c.putReferrer(a.repo, artifactManifest(a));
  } finally {
    if (c !== registry) c.close();
  }
}

// The whole "append" build of a function image: append the layers to the base, attach an SPDX
// SBOM of the components as a referrer, and sign the image (cosign formats), in one call on one
// connection pool. Each step's time is returned beside the digest.
import { type Appended, type AppendOptions, append } from './append.ts';
import { attach } from './referrers.ts';
import type { Descriptor, Registry } from './registry.ts';
import { RegistryClient } from './registry.ts';
import { type Component, SPDX_MEDIA_TYPE, spdx } from './sbom.ts';
import { type SignatureFormat, type Signed, sign } from './sign.ts';

export interface PublishOptions extends AppendOptions {
  /** The image's SBOM: its components (fromPackageLock, fromRequirements, ...) and creation time. */
  sbom?: { components: Component[]; created?: string; name?: string };
  /** Sign with this ECDSA P-256 key (PEM). */
  key?: string;
  formats?: SignatureFormat[];
}

export interface Published extends Appended {
  sbom?: Descriptor;
  signature?: Signed;
  timings: Appended['timings'] & { sbomMs: number; signMs: number };
}

export async function publish(registry: Registry | RegistryClient, o: PublishOptions): Promise<Published> {
  const c = registry instanceof RegistryClient ? registry : new RegistryClient(registry);
  try {
    const image = await append(c, o);
    const subject = { mediaType: image.mediaType, digest: image.digest, size: image.manifest.length };
    const t0 = performance.now();
    const sbom = o.sbom
      ? await attach(c, {
          repo: o.target,
          subject,
          artifactType: SPDX_MEDIA_TYPE,
          blob: spdx({
            name: o.sbom.name ?? o.target,
            image: { digest: image.digest, repository: `${c.registry.host}/${o.target}` },
            components: o.sbom.components,
            ...(o.sbom.created ? { created: o.sbom.created } : {}),
          }),
        })
      : undefined;
    const t1 = performance.now();
    const signature = o.key
      ? await sign(c, {
          repo: o.target,
          digest: image.digest,
          subject,
          key: o.key,
          ...(o.formats ? { formats: o.formats } : {}),
        })
      : undefined;
    const t2 = performance.now();
    const ms = (a: number, b: number) => Math.round((b - a) * 10) / 10;
    return {
      ...image,
      ...(sbom ? { sbom } : {}),
      ...(signature ? { signature } : {}),
      timings: {
        ...image.timings,
        sbomMs: ms(t0, t1),
        signMs: ms(t1, t2),
        totalMs: Math.round((image.timings.totalMs + ms(t0, t2)) * 10) / 10,
      },
    };
  } finally {
    if (c !== registry) c.close();
  }
}

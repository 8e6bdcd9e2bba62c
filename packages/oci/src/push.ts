// Pushing an image over the OCI distribution API: blobs the registry lacks are uploaded in
// one PUT each (POST for a session, PUT with the digest), then the manifest under its tag.
// Layers shared between images are uploaded once. The HTTP, auth and TLS are registry.ts's.
import { type Image, MEDIA } from './image.ts';
import { type Registry, RegistryClient } from './registry.ts';

export { type Registry, RegistryError } from './registry.ts';

/** Pushes `img` as `repo:tag`; returns how many blobs were uploaded (0 when all were there). */
export async function push(reg: Registry | RegistryClient, repo: string, tag: string, img: Image): Promise<number> {
  const client = reg instanceof RegistryClient ? reg : new RegistryClient(reg);
  try {
    let uploaded = 0;
    for (const l of img.layers) if (await client.ensureBlob(repo, l.digest, l.blob)) uploaded++;
    if (await client.ensureBlob(repo, img.configDescriptor.digest, img.config)) uploaded++;
    await client.putManifest(repo, tag, img.manifest, MEDIA.manifest);
    return uploaded;
  } finally {
    if (client !== reg) client.close();
  }
}

// An OCI image from layers and a config: the config and manifest are JSON with a fixed key
// order and no timestamps, so an image's digest is a function of its layers and settings.
// Images are written as OCI image layout directories (`oci-layout`, `index.json`, `blobs/`),
// which `crane push`, `ctr import`, skopeo and the push in push.ts all read.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Layer, sha256 } from './layer.ts';
import type { Descriptor } from './registry.ts';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface ImageConfig {
  entrypoint: string[];
  cmd?: string[];
  env?: Record<string, string>;
  /** `uid:gid`; images run as non-root. */
  user: string;
  workingDir?: string;
  ports?: number[];
  /** OCI labels (org.opencontainers.image.*). */
  labels?: Record<string, string>;
}

export type { Descriptor };

export interface Image {
  layers: Layer[];
  config: Buffer;
  configDescriptor: Descriptor;
  manifest: Buffer;
  /** The image's digest: sha256 of its manifest. */
  digest: string;
}

const sorted = (o: Record<string, string> | undefined) =>
  o ? Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : undefined;

export function image(layers: Layer[], c: ImageConfig): Image {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        User: c.user,
        Entrypoint: c.entrypoint,
        ...(c.cmd ? { Cmd: c.cmd } : {}),
        Env: Object.entries(c.env ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .sort(),
        ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
        ...(c.ports?.length ? { ExposedPorts: Object.fromEntries(c.ports.map((p) => [`${p}/tcp`, {}])) } : {}),
        ...(c.labels ? { Labels: sorted(c.labels) } : {}),
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created_by: 'plinth images' })),
    }),
  );
  const configDescriptor = { mediaType: MEDIA.config, digest: sha256(config), size: config.length };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: configDescriptor,
      layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.blob.length })),
      ...(c.labels ? { annotations: sorted(c.labels) } : {}),
    }),
  );
  return { layers, config, configDescriptor, manifest, digest: sha256(manifest) };
}

const blobPath = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));

/** Writes images into one OCI layout directory; each is named by `ref` in index.json. */
export function writeLayout(dir: string, images: { ref: string; image: Image }[]): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests: Descriptor[] = [];
  for (const { ref, image: img } of images) {
    for (const l of img.layers) writeFileSync(blobPath(dir, l.digest), l.blob);
    writeFileSync(blobPath(dir, img.configDescriptor.digest), img.config);
    writeFileSync(blobPath(dir, img.digest), img.manifest);
    manifests.push({
      mediaType: MEDIA.manifest,
      digest: img.digest,
      size: img.manifest.length,
      annotations: { 'org.opencontainers.image.ref.name': ref, 'io.containerd.image.name': ref },
    });
  }
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests }));
}

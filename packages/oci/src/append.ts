// "Append a layer to a base image" (crane append + mutate, ko, Jib): the new image is the base's
// layers and the given ones, its config the base's with rootfs.diff_ids and history extended and
// the given settings applied. Nothing in it carries a time, so the same base and layers give
// the same digest. The base's blobs are mounted from its repository, never sent again: a push
// costs the new layers, one config and one manifest.
import { type Layer, sha256 } from './layer.ts';
import { MANIFEST_TYPES, type Manifest, parseRef, type Registry, RegistryClient, RegistryError } from './registry.ts';

export interface AppendConfig {
  /** Set or replace variables; the base's others are kept. */
  env?: Record<string, string>;
  /** Replaces the base's; without `cmd`, the base's Cmd is dropped (as a Dockerfile ENTRYPOINT does). */
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  /** `uid:gid` */
  user?: string;
  /** Merged into the base's labels. */
  labels?: Record<string, string>;
}

export interface AppendOptions {
  /** The base within the registry: `repo:tag` or `repo@sha256:...`; an index is resolved to linux/amd64. */
  base: string;
  /** The repository the new image goes to. */
  target: string;
  /** Also tag it; it is always pushed by digest. */
  tag?: string;
  layers: Layer[];
  config?: AppendConfig;
  /** `created_by` of the new layers' history entries; default `plinth append`. */
  createdBy?: string;
}

export interface Appended {
  digest: string;
  /** `host/target@digest` */
  reference: string;
  mediaType: string;
  manifest: Buffer;
  config: Buffer;
  /** How each blob got there: base blobs mounted (or already present), new ones uploaded. */
  blobs: { mounted: number; present: number; copied: number; uploaded: number };
  timings: { resolveMs: number; blobsMs: number; manifestMs: number; totalMs: number };
}

type Json = Record<string, unknown>;

/** Layer media types of each manifest family; a Docker base keeps a Docker manifest. */
const FAMILY = {
  [MANIFEST_TYPES.ociManifest]: {
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  [MANIFEST_TYPES.dockerManifest]: {
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

/**
 * The new config, from the base's bytes: pure and deterministic (the base's key order and
 * history are kept, its `created` is dropped, the new history entries carry no time).
 */
export function appendConfig(base: Buffer, layers: Layer[], c: AppendConfig = {}, createdBy = 'plinth append'): Buffer {
  const config = JSON.parse(base.toString()) as Json;
  delete config.created;
  const run = { ...((config.config as Json | undefined) ?? {}) };
  if (c.env) {
    const env = [...((run.Env as string[] | undefined) ?? [])];
    const given = Object.entries(c.env);
    for (const [k, v] of given) {
      const i = env.findIndex((e) => e.split('=')[0] === k);
      if (i >= 0) env[i] = `${k}=${v}`;
    }
    const have = new Set(env.map((e) => e.split('=')[0]));
    for (const [k, v] of given.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      if (!have.has(k)) env.push(`${k}=${v}`);
    run.Env = env;
  }
  if (c.entrypoint) {
    run.Entrypoint = c.entrypoint;
    if (!c.cmd) delete run.Cmd;
  }
  if (c.cmd) run.Cmd = c.cmd;
  if (c.workingDir) run.WorkingDir = c.workingDir;
  if (c.user) run.User = c.user;
  if (c.labels) {
    const labels = { ...((run.Labels as Record<string, string> | undefined) ?? {}), ...c.labels };
    run.Labels = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  config.config = run;
  const rootfs = (config.rootfs as { type?: string; diff_ids?: string[] } | undefined) ?? {};
  config.rootfs = {
    ...rootfs,
    type: rootfs.type ?? 'layers',
    diff_ids: [...(rootfs.diff_ids ?? []), ...layers.map((l) => l.diffId)],
  };
  config.history = [
    ...((config.history as Json[] | undefined) ?? []),
    ...layers.map(() => ({ created_by: createdBy })),
  ];
  return Buffer.from(JSON.stringify(config));
}

/** The new manifest: the base's layer descriptors as they are, the new ones, the new config. */
export function appendManifest(
  base: Manifest,
  config: Buffer,
  layers: Layer[],
  baseName: string,
): { body: Buffer; mediaType: string } {
  const mediaType =
    base.mediaType === MANIFEST_TYPES.dockerManifest ? MANIFEST_TYPES.dockerManifest : MANIFEST_TYPES.ociManifest;
  const family = FAMILY[mediaType];
  const oci = mediaType === MANIFEST_TYPES.ociManifest;
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: base.json.config?.mediaType ?? family.config, digest: sha256(config), size: config.length },
      layers: [
        ...(base.json.layers ?? []),
        ...layers.map((l) => ({ mediaType: family.layer, digest: l.digest, size: l.blob.length })),
      ],
      ...(oci
        ? {
            annotations: {
              'org.opencontainers.image.base.digest': base.digest,
              'org.opencontainers.image.base.name': baseName,
            },
          }
        : {}),
    }),
  );
  return { body, mediaType };
}

/** Appends `layers` to `base` and pushes the result to `target` by digest (and `tag`). */
export async function append(registry: Registry | RegistryClient, opts: AppendOptions): Promise<Appended> {
  const client = registry instanceof RegistryClient ? registry : new RegistryClient(registry);
  const t0 = performance.now();
  try {
    const { repo: baseRepo, reference } = parseRef(opts.base);
    const base = await client.manifest(baseRepo, reference);
    if (!base.json.config || !(base.mediaType in FAMILY)) {
      throw new RegistryError(`${opts.base} is not an image manifest (${base.mediaType})`, 200, '');
    }
    const baseConfig = await client.blob(baseRepo, base.json.config.digest);
    const config = appendConfig(baseConfig, opts.layers, opts.config, opts.createdBy);
    const baseName = `${client.registry.host}/${baseRepo}${reference.startsWith('sha256:') ? '' : `:${reference}`}`;
    const manifest = appendManifest(base, config, opts.layers, baseName);
    const t1 = performance.now();

    const blobs = { mounted: 0, present: 0, copied: 0, uploaded: 0 };
    const same = baseRepo === opts.target;
    await Promise.all([
      ...(base.json.layers ?? []).map(async (l) => {
        if (same) blobs.present++;
        else blobs[await client.mountBlob(opts.target, l.digest, baseRepo)]++;
      }),
      ...opts.layers.map(async (l) => {
        if (await client.ensureBlob(opts.target, l.digest, l.blob)) blobs.uploaded++;
        else blobs.present++;
      }),
      (async () => {
        if (await client.ensureBlob(opts.target, sha256(config), config)) blobs.uploaded++;
        else blobs.present++;
      })(),
    ]);
    const t2 = performance.now();

    const { digest } = await client.putManifest(opts.target, sha256(manifest.body), manifest.body, manifest.mediaType);
    if (opts.tag) await client.putManifest(opts.target, opts.tag, manifest.body, manifest.mediaType);
    const t3 = performance.now();
    const ms = (a: number, b: number) => Math.round((b - a) * 10) / 10;
    return {
      digest,
      reference: `${client.registry.host}/${opts.target}@${digest}`,
      mediaType: manifest.mediaType,
      manifest: manifest.body,
      config,
      blobs,
      timings: { resolveMs: ms(t0, t1), blobsMs: ms(t1, t2), manifestMs: ms(t2, t3), totalMs: ms(t0, t3) },
    };
  } finally {
    if (client !== registry) client.close();
  }
}

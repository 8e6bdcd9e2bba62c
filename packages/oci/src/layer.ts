// Deterministic layers: a sorted list of entries becomes a tar with fixed owners, modes and
// times, gzipped with a zero mtime in its header, so the same files give the same digest on
// any machine and any day.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export interface Entry {
  /** Path in the image, without a leading slash (`usr/local/bin/node`). */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits; default 0o644 for files, 0o755 for directories. */
  mode?: number;
  content?: Buffer;
  /** Target of a symlink. */
  linkname?: string;
  uid?: number;
  gid?: number;
}

export interface Layer {
  /** The gzipped tar, as stored in the registry. */
  blob: Buffer;
  /** sha256:... of the blob. */
  digest: string;
  /** sha256:... of the uncompressed tar (the image config's rootfs.diff_ids). */
  diffId: string;
  /** Uncompressed size, for the sizes table. */
  unpacked: number;
}

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Parent directories of every entry that are not entries themselves, so the tar is complete. */
function withParents(entries: Entry[]): Entry[] {
  const have = new Set(entries.map((e) => e.path));
  const out = [...entries];
  for (const e of entries) {
    for (let d = posix.dirname(e.path); d !== '.' && d !== '/' && !have.has(d); d = posix.dirname(d)) {
      have.add(d);
      out.push({ path: d, type: 'directory' });
    }
  }
  return out;
}

/** A layer from entries; later entries with the same path win. */
export async function layer(entries: Entry[]): Promise<Layer> {
  const byPath = new Map<string, Entry>();
  for (const e of entries) byPath.set(e.path.replace(/^\/+/, '').replace(/\/+$/, ''), e);
  const sorted = withParents([...byPath].map(([path, e]) => ({ ...e, path }))).sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const e of sorted) {
    const header = {
      name: e.type === 'directory' ? `${e.path}/` : e.path,
      mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      uname: '',
      gname: '',
      mtime: new Date(0),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === 'directory') tar.entry({ ...header, type: 'directory' }, cb);
      else if (e.type === 'symlink') tar.entry({ ...header, type: 'symlink', linkname: e.linkname ?? '' }, cb);
      else tar.entry({ ...header, type: 'file', size: e.content?.length ?? 0 }, e.content ?? Buffer.alloc(0), cb);
    });
  }
  tar.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  const blob = gzipSync(raw, { level: 6 });
  return { blob, digest: sha256(blob), diffId: sha256(raw), unpacked: raw.length };
}

export interface DirOptions {
  /** Where the directory's contents go in the image (`app`, `usr/local/bin`). */
  to: string;
  /** Relative paths (posix) to leave out: a prefix match on whole path segments. */
  exclude?: (relative: string) => boolean;
  uid?: number;
  gid?: number;
  /** Files to mark executable whatever their mode on disk (a Go module zip keeps no modes). */
  executable?: (relative: string) => boolean;
}

/**
 * Entries for a directory tree, read from disk: files keep their executable bit (normalised
 * to 0o755 or 0o644), symlinks stay symlinks, times and owners are dropped.
 */
export function dirEntries(root: string, opts: DirOptions): Entry[] {
  const out: Entry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (opts.exclude?.(r)) continue;
      const abs = join(root, r);
      const st = lstatSync(abs);
      const path = posix.join(opts.to, r);
      const owner = { uid: opts.uid ?? 0, gid: opts.gid ?? 0 };
      if (st.isSymbolicLink()) out.push({ path, type: 'symlink', linkname: readlinkSync(abs), ...owner });
      else if (st.isDirectory()) {
        out.push({ path, type: 'directory', ...owner });
        walk(r);
      } else if (st.isFile()) {
        const exec = st.mode & 0o111 || opts.executable?.(r);
        out.push({ path, type: 'file', mode: exec ? 0o755 : 0o644, content: readFileSync(abs), ...owner });
      }
    }
  };
  walk('');
  return out;
}

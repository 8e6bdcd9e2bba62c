// Software bills of materials: the components of a build, read from what each language's tool
// pinned (package-lock.json v2/v3, a requirements.txt of `==` pins, `go list -m all`, Maven's
// `dependency:list`), written as an SPDX 2.3 JSON document (ISO/IEC 5962; what ko, syft and
// GitHub's dependency graph export write, and what Trivy, Grype and Kyverno read). Pure: no I/O.
import { sha256 } from './layer.ts';

export interface Component {
  name: string;
  version: string;
  /** Package URL (purl-spec): `pkg:npm/%40scope/name@1.0.0`, `pkg:pypi/name@1.0`, ... */
  purl: string;
  /** Checksums the lockfile records, hex: { SHA512: '...' }. */
  checksums?: Partial<Record<'SHA1' | 'SHA256' | 'SHA512', string>>;
  /** SPDX license expression where the lockfile records one. */
  license?: string;
}

export class SbomParseError extends Error {
  constructor(file: string, line: number | undefined, why: string) {
    super(`${file}${line ? `:${line}` : ''}: ${why}`);
    this.name = 'SbomParseError';
  }
}

const enc = (s: string) => encodeURIComponent(s);
const byName = (a: Component, b: Component) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0;

/** Sorted by name and version, one entry per purl. */
function unique(components: Component[]): Component[] {
  const seen = new Map<string, Component>();
  for (const c of components) if (!seen.has(c.purl)) seen.set(c.purl, c);
  return [...seen.values()].sort(byName);
}

export const purl = {
  npm: (name: string, version: string) => {
    const slash = name.startsWith('@') ? name.indexOf('/') : -1;
    return slash > 0
      ? `pkg:npm/${enc(name.slice(0, slash))}/${enc(name.slice(slash + 1))}@${enc(version)}`
      : `pkg:npm/${enc(name)}@${enc(version)}`;
  },
  /** PEP 503 normalised name, as purl-spec asks for pypi. */
  pypi: (name: string, version: string) => `pkg:pypi/${enc(normalisePython(name))}@${enc(version)}`,
  golang: (module: string, version: string) => `pkg:golang/${module.split('/').map(enc).join('/')}@${enc(version)}`,
  maven: (group: string, artifact: string, version: string, type = 'jar', classifier?: string) => {
    const q = new URLSearchParams();
    if (classifier) q.set('classifier', classifier);
    if (type !== 'jar') q.set('type', type);
    const qs = q.toString();
    return `pkg:maven/${enc(group)}/${enc(artifact)}@${enc(version)}${qs ? `?${qs}` : ''}`;
  },
};

export const normalisePython = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

/**
 * Components of an npm package-lock.json (lockfileVersion 2 or 3: its `packages` map). The
 * root, workspace links and, unless `dev` is true, dev-only packages are left out.
 */
export function fromPackageLock(text: string, opts: { dev?: boolean } = {}): Component[] {
  const lock = JSON.parse(text) as {
    lockfileVersion?: number;
    packages?: Record<
      string,
      { name?: string; version?: string; link?: boolean; dev?: boolean; integrity?: string; license?: string }
    >;
  };
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) {
    throw new SbomParseError(
      'package-lock.json',
      undefined,
      `lockfileVersion ${lock.lockfileVersion} has no "packages"; v2 or v3 is needed (npm 7 or later)`,
    );
  }
  const out: Component[] = [];
  for (const [path, p] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf('node_modules/');
    if (!path || at < 0 || p.link || (p.dev && !opts.dev) || !p.version) continue;
    const name = p.name ?? path.slice(at + 'node_modules/'.length);
    const c: Component = { name, version: p.version, purl: purl.npm(name, p.version) };
    const integrity = p.integrity?.split(' ')[0]?.match(/^(sha1|sha256|sha512)-(.+)$/);
    if (integrity?.[1] && integrity[2]) {
      c.checksums = { [integrity[1].toUpperCase()]: Buffer.from(integrity[2], 'base64').toString('hex') };
    }
    if (p.license) c.license = p.license;
    out.push(c);
  }
  return unique(out);
}

/**
 * Components of a requirements.txt in which every requirement is pinned (`name==version`,
 * extras and environment markers allowed, `--hash` options read). Options such as
 * `--index-url` are skipped; an unpinned requirement, `-r`, `-e` or a URL is an error naming
 * its line, since the SBOM would not say what is installed.
 */
export function fromRequirements(text: string): Component[] {
  const out: Component[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i] ?? '';
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]}`;
    line = line.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const hashes = [...line.matchAll(/--hash[= ](sha256|sha512):([0-9a-f]+)/gi)];
    const req = line.replace(/--hash[= ]\S+/g, '').trim();
    if (!req) continue;
    if (req.startsWith('-')) {
      if (/^(-r|-c|-e|--requirement|--constraint|--editable)\b/.test(req)) {
        throw new SbomParseError(
          'requirements.txt',
          lineNo,
          `"${req}" is not supported: list every requirement pinned in this file`,
        );
      }
      continue;
    }
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([^\s;,]+)\s*(?:;.*)?$/.exec(req);
    if (!m?.[1] || !m[2] || m[2].includes('*')) {
      throw new SbomParseError('requirements.txt', lineNo, `"${req}" is not pinned (name==version)`);
    }
    const c: Component = { name: normalisePython(m[1]), version: m[2], purl: purl.pypi(m[1], m[2]) };
    const h = hashes[0];
    if (h?.[1] && h[2]) c.checksums = { [h[1].toUpperCase()]: h[2].toLowerCase() };
    out.push(c);
  }
  return unique(out);
}

/**
 * Components of `go list -m all` (`path version`, or `path version => replacement version`):
 * the main module, which has no version, and modules replaced by a directory are left out.
 */
export function fromGoList(text: string): Component[] {
  const out: Component[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const f = raw.trim().split(/\s+/).filter(Boolean);
    if (f.length < 2) continue;
    const [path, version] = f;
    const arrow = f.indexOf('=>');
    const [mod, ver] = arrow > 0 ? [f[arrow + 1], f[arrow + 2]] : [path, version];
    if (!mod || !ver) continue; // replaced by a local directory
    if (!/^v\d/.test(ver)) throw new SbomParseError('go list -m all', i + 1, `"${raw.trim()}" has no module version`);
    out.push({ name: mod, version: ver, purl: purl.golang(mod, ver) });
  }
  return unique(out);
}

/**
 * Components of `mvn dependency:list` output: lines `group:artifact:type[:classifier]:version:scope`
 * (with or without Maven's `[INFO]` prefix and a trailing ` -- module ...`). Test-scoped ones
 * are left out unless `test` is true.
 */
export function fromMavenDependencyList(text: string, opts: { test?: boolean } = {}): Component[] {
  const out: Component[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw
      .replace(/^\[\w+\]\s*/, '')
      .replace(/\s+--\s.*$/, '')
      .replace(/\s*\(optional\)\s*$/, '')
      .trim();
    const f = line.split(':');
    if ((f.length !== 5 && f.length !== 6) || f.some((x) => !x || /\s/.test(x))) continue;
    const [group, artifact, type] = f as [string, string, string];
    const classifier = f.length === 6 ? f[3] : undefined;
    const version = f[f.length - 2] as string;
    const scope = f[f.length - 1] as string;
    if (!['compile', 'runtime', 'provided', 'system', 'test'].includes(scope)) continue;
    if (scope === 'test' && !opts.test) continue;
    out.push({ name: `${group}:${artifact}`, version, purl: purl.maven(group, artifact, version, type, classifier) });
  }
  return unique(out);
}

export const SPDX_MEDIA_TYPE = 'application/spdx+json';

export interface SpdxOptions {
  /** What the document describes: the image's repository or the function's name. */
  name: string;
  /** The image it describes, when there is one: its digest and `host/repo`. */
  image?: { digest: string; repository: string };
  components: Component[];
  /** ISO 8601 creation time; default the epoch, as SOURCE_DATE_EPOCH=0 does, so the document is reproducible. */
  created?: string;
  /** `Tool: ...` creators; default `Tool: plinth-oci`. */
  creators?: string[];
}

const spdxId = (s: string) => s.replace(/[^A-Za-z0-9.-]+/g, '-');

/**
 * An SPDX 2.3 JSON document: one package for the image (or the named whole) that CONTAINS one
 * package per component, each with its purl as a PACKAGE-MANAGER external reference and the
 * lockfile's checksum. Deterministic: the same inputs give the same bytes, and the namespace
 * is derived from them.
 */
export function spdx(o: SpdxOptions): Buffer {
  const components = unique(o.components);
  const rootId = 'SPDXRef-Root';
  const root = {
    SPDXID: rootId,
    name: o.name,
    ...(o.image ? { versionInfo: o.image.digest } : {}),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    ...(o.image
      ? {
          externalRefs: [
            {
              referenceCategory: 'PACKAGE-MANAGER',
              referenceType: 'purl',
              referenceLocator: `pkg:oci/${enc(o.image.repository.split('/').pop() ?? o.name)}@${enc(o.image.digest)}?repository_url=${enc(o.image.repository)}`,
            },
          ],
          primaryPackagePurpose: 'CONTAINER',
        }
      : { primaryPackagePurpose: 'APPLICATION' }),
  };
  const packages = components.map((c, i) => ({
    SPDXID: `SPDXRef-Package-${i + 1}-${spdxId(c.name)}`,
    name: c.name,
    versionInfo: c.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    ...(c.checksums
      ? { checksums: Object.entries(c.checksums).map(([algorithm, checksumValue]) => ({ algorithm, checksumValue })) }
      : {}),
    ...(c.license ? { licenseDeclared: c.license } : {}),
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: c.purl }],
    primaryPackagePurpose: 'LIBRARY',
  }));
  const identity = sha256(JSON.stringify([o.name, o.image ?? null, components.map((c) => c.purl)])).slice(
    'sha256:'.length,
  );
  return Buffer.from(
    JSON.stringify({
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: o.image ? `${o.image.repository}@${o.image.digest}` : o.name,
      documentNamespace: `https://spdx.plinth.dev/${enc(o.name)}-${identity}`,
      creationInfo: { created: o.created ?? '1970-01-01T00:00:00Z', creators: o.creators ?? ['Tool: plinth-oci'] },
      packages: [root, ...packages],
      relationships: [
        { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: rootId },
        ...packages.map((p) => ({ spdxElementId: rootId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
      ],
    }),
  );
}

// A client of the OCI distribution API: manifests (an index resolved to one platform), blobs
// (read, HEAD, cross-repository mount with a fallback to upload, monolithic upload), manifests
// pushed by digest and tag, and the referrers of a manifest (OCI 1.1: the referrers API, or the
// `sha256-<hex>` tag schema where a registry lacks it). Auth: anonymous, basic, and the bearer
// token challenge of `WWW-Authenticate` (Docker's token protocol, which distribution, Zot,
// Harbor and the cloud registries speak), the token cached per scope. TLS is verified against
// the given CA; connections are kept alive for the client's life.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { sha256 } from './layer.ts';

export const MANIFEST_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const ACCEPT = Object.values(MANIFEST_TYPES).join(', ');

export interface Credentials {
  username: string;
  password: string;
}

export interface Registry {
  /** host:port */
  host: string;
  /** PEM CA bundle the registry's certificate chains to; the system's CAs when omitted. */
  ca?: string;
  /** Plain HTTP (a registry on loopback only); default false. */
  insecure?: boolean;
  /** User and password: sent as basic auth, or exchanged for a bearer token when challenged. */
  auth?: Credentials;
}

export class RegistryError extends Error {
  readonly status: number;
  constructor(what: string, status: number, body: string) {
    super(`${what}: registry answered ${status}${body ? `: ${body.slice(0, 500)}` : ''}`);
    this.name = 'RegistryError';
    this.status = status;
  }
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Manifest {
  /** sha256 of `body`: the manifest's digest. */
  digest: string;
  mediaType: string;
  /** The bytes as stored: what the digest is of. */
  body: Buffer;
  json: {
    schemaVersion: number;
    mediaType?: string;
    artifactType?: string;
    config?: Descriptor;
    layers?: Descriptor[];
    manifests?: Descriptor[];
    subject?: Descriptor;
    annotations?: Record<string, string>;
  };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const header = (h: IncomingHttpHeaders, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Credentials for `host` from a docker config.json (a `kubernetes.io/dockerconfigjson`
 * Secret's `.dockerconfigjson`): `auths[host].auth` (base64 `user:password`) or its
 * `username`/`password`. Undefined when the file names no such host.
 */
export function credentialsFromDockerConfig(json: string, host: string): Credentials | undefined {
  const auths = (
    JSON.parse(json) as { auths?: Record<string, { auth?: string; username?: string; password?: string }> }
  ).auths;
  const entry = auths?.[host] ?? auths?.[`https://${host}`];
  if (!entry) return undefined;
  if (entry.username !== undefined && entry.password !== undefined) {
    return { username: entry.username, password: entry.password };
  }
  if (!entry.auth) return undefined;
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const i = plain.indexOf(':');
  return i < 0 ? undefined : { username: plain.slice(0, i), password: plain.slice(i + 1) };
}

/** `repo:tag`, `repo@sha256:...` or `repo` (tag `latest`) within one registry. */
export function parseRef(ref: string): { repo: string; reference: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repo: ref.slice(0, at), reference: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repo: ref.slice(0, colon), reference: ref.slice(colon + 1) };
  return { repo: ref, reference: 'latest' };
}

/** The referrers tag schema's tag for a digest (OCI distribution spec 1.1). */
export const referrersTag = (digest: string) => digest.replace(':', '-');

type Action = 'pull' | 'push';

export class RegistryClient {
  readonly registry: Registry;
  private readonly agent: HttpAgent;
  /** Bearer tokens by scope string; `basic` when the registry asked for basic auth. */
  private readonly tokens = new Map<string, string>();
  private scheme: 'none' | 'basic' | 'bearer' = 'none';
  private challenge: Record<string, string> = {};

  constructor(registry: Registry) {
    this.registry = registry;
    this.agent = registry.insecure
      ? new HttpAgent({ keepAlive: true })
      : new HttpsAgent({ keepAlive: true, ...(registry.ca ? { ca: registry.ca } : {}) });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private url(path: string): URL {
    return new URL(path, `${this.registry.insecure ? 'http' : 'https'}://${this.registry.host}`);
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body?: Buffer,
    agent: HttpAgent | undefined = this.agent,
  ): Promise<Reply> {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const sameHost = url.host === this.registry.host;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
          ...(sameHost ? { agent } : this.registry.ca ? { ca: this.registry.ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private basic(): string {
    const a = this.registry.auth;
    if (!a) throw new RegistryError(`${this.registry.host} asks for credentials and none were given`, 401, '');
    return `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
  }

  private async token(wanted: string[]): Promise<string> {
    const scopes = [...new Set(wanted)].sort();
    const key = scopes.join(' ');
    const cached = this.tokens.get(key);
    if (cached) return cached;
    const { realm, service } = this.challenge;
    if (!realm) throw new RegistryError(`${this.registry.host} sent a bearer challenge without a realm`, 401, '');
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const reply = await this.send(url, 'GET', this.registry.auth ? { authorization: this.basic() } : {});
    if (reply.status !== 200)
      throw new RegistryError(`a token from ${url.origin}${url.pathname}`, reply.status, reply.body.toString());
    const { token, access_token } = JSON.parse(reply.body.toString()) as { token?: string; access_token?: string };
    const t = token ?? access_token;
    if (!t)
      throw new RegistryError(`the token answer of ${url.origin}${url.pathname} holds no token`, reply.status, '');
    this.tokens.set(key, t);
    return t;
  }

  private async authorization(scopes: string[]): Promise<Record<string, string>> {
    if (this.scheme === 'basic') return { authorization: this.basic() };
    if (this.scheme === 'bearer') return { authorization: `Bearer ${await this.token(scopes)}` };
    return {};
  }

  /**
   * One request with auth: on a 401 the challenge picks basic or bearer (the token asked for
   * the scopes this call needs plus those the registry named) and the call is sent again once.
   * Redirects of GET and HEAD (blob storage elsewhere) are followed without the credentials.
   */
  async request(
    method: string,
    path: string,
    opts: { body?: Buffer; headers?: Record<string, string>; scopes: string[] },
  ): Promise<Reply> {
    const url = this.url(path);
    const headers = { ...opts.headers, ...(await this.authorization(opts.scopes)) };
    let reply = await this.send(url, method, headers, opts.body);
    if (reply.status === 401) {
      const www = header(reply.headers, 'www-authenticate') ?? '';
      const params: Record<string, string> = {};
      for (const m of www.matchAll(/(\w+)="([^"]*)"/g)) params[m[1] as string] = m[2] as string;
      if (/^bearer\b/i.test(www)) {
        this.scheme = 'bearer';
        this.challenge = params;
        const named = params.scope?.split(' ').filter(Boolean) ?? [];
        const scopes = [...new Set([...opts.scopes, ...named])].sort();
        this.tokens.delete(scopes.join(' '));
        this.tokens.delete([...new Set(opts.scopes)].sort().join(' '));
        reply = await this.send(
          url,
          method,
          { ...opts.headers, authorization: `Bearer ${await this.token(scopes)}` },
          opts.body,
        );
      } else if (/^basic\b/i.test(www) && this.scheme !== 'basic') {
        this.scheme = 'basic';
        reply = await this.send(url, method, { ...opts.headers, authorization: this.basic() }, opts.body);
      }
    }
    for (
      let hops = 0;
      (method === 'GET' || method === 'HEAD') && [301, 302, 303, 307, 308].includes(reply.status);
      hops++
    ) {
      const location = header(reply.headers, 'location');
      if (!location || hops > 5) break;
      const next = new URL(location, url);
      const keep = next.host === this.registry.host ? headers : (opts.headers ?? {});
      reply = await this.send(next, method, keep, undefined);
    }
    return reply;
  }

  private static scope(repo: string, ...actions: Action[]) {
    return `repository:${repo}:${actions.join(',')}`;
  }

  /**
   * A manifest by tag or digest. An image index (or Docker manifest list) is resolved to the
   * manifest for `platform` (default linux/amd64) unless `index` is true.
   */
  async manifest(
    repo: string,
    reference: string,
    opts: { platform?: Platform; index?: boolean } = {},
  ): Promise<Manifest> {
    const reply = await this.request('GET', `/v2/${repo}/manifests/${reference}`, {
      headers: { accept: ACCEPT },
      scopes: [RegistryClient.scope(repo, 'pull')],
    });
    if (reply.status !== 200)
      throw new RegistryError(`the manifest ${repo}:${reference}`, reply.status, reply.body.toString());
    const digest = sha256(reply.body);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new RegistryError(`the manifest ${repo}@${reference} has the digest ${digest}`, reply.status, '');
    }
    const json = JSON.parse(reply.body.toString()) as Manifest['json'];
    const mediaType = json.mediaType ?? header(reply.headers, 'content-type') ?? MANIFEST_TYPES.ociManifest;
    const isIndex =
      mediaType === MANIFEST_TYPES.ociIndex || mediaType === MANIFEST_TYPES.dockerList || !!json.manifests;
    if (isIndex && !opts.index) {
      const want = opts.platform ?? { os: 'linux', architecture: 'amd64' };
      const match = json.manifests?.find(
        (m) =>
          m.platform?.os === want.os &&
          m.platform.architecture === want.architecture &&
          (!want.variant || m.platform.variant === want.variant),
      );
      if (!match) {
        const have = json.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).join(', ');
        throw new RegistryError(
          `${repo}:${reference} has no ${want.os}/${want.architecture} image (it has ${have})`,
          404,
          '',
        );
      }
      return this.manifest(repo, match.digest, opts);
    }
    return { digest, mediaType, body: reply.body, json };
  }

  /** A blob's bytes, checked against its digest. */
  async blob(repo: string, digest: string): Promise<Buffer> {
    const reply = await this.request('GET', `/v2/${repo}/blobs/${digest}`, {
      scopes: [RegistryClient.scope(repo, 'pull')],
    });
    if (reply.status !== 200)
      throw new RegistryError(`the blob ${repo}@${digest}`, reply.status, reply.body.toString());
    if (sha256(reply.body) !== digest)
      throw new RegistryError(`the blob ${repo}@${digest} does not match its digest`, 200, '');
    return reply.body;
  }

  /** Whether `repo` has the blob (HEAD). */
  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const reply = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, {
      scopes: [RegistryClient.scope(repo, 'pull')],
    });
    if (reply.status === 200) return true;
    if (reply.status === 404) return false;
    throw new RegistryError(`HEAD of the blob ${repo}@${digest}`, reply.status, '');
  }

  private async finishUpload(repo: string, location: string, digest: string, blob: Buffer): Promise<void> {
    const url = this.url(location);
    url.searchParams.set('digest', digest);
    const put = await this.request('PUT', `${url.pathname}${url.search}`, {
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
      scopes: [RegistryClient.scope(repo, 'pull', 'push')],
    });
    if (put.status !== 201) throw new RegistryError(`uploading ${digest} to ${repo}`, put.status, put.body.toString());
  }

  /** Uploads a blob in one PUT (POST for a session, PUT with the digest). */
  async putBlob(repo: string, digest: string, blob: Buffer): Promise<void> {
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`, {
      scopes: [RegistryClient.scope(repo, 'pull', 'push')],
    });
    if (start.status !== 202)
      throw new RegistryError(`starting an upload to ${repo}`, start.status, start.body.toString());
    await this.finishUpload(repo, header(start.headers, 'location') ?? '', digest, blob);
  }

  /** Uploads a blob unless `repo` has it; true when it was uploaded. */
  async ensureBlob(repo: string, digest: string, blob: Buffer): Promise<boolean> {
    if (await this.hasBlob(repo, digest)) return false;
    await this.putBlob(repo, digest, blob);
    return true;
  }

  /**
   * Makes the blob `digest` of repository `from` present in `repo` without sending it: HEAD
   * first, then a cross-repository mount; a registry that declines the mount (202, an upload
   * session) gets the blob read from `from` and uploaded into that session.
   */
  async mountBlob(repo: string, digest: string, from: string): Promise<'present' | 'mounted' | 'copied'> {
    if (await this.hasBlob(repo, digest)) return 'present';
    const q = new URLSearchParams({ mount: digest, from });
    const reply = await this.request('POST', `/v2/${repo}/blobs/uploads/?${q}`, {
      scopes: [RegistryClient.scope(from, 'pull'), RegistryClient.scope(repo, 'pull', 'push')].sort(),
    });
    if (reply.status === 201) return 'mounted';
    if (reply.status !== 202)
      throw new RegistryError(`mounting ${digest} from ${from} into ${repo}`, reply.status, reply.body.toString());
    await this.finishUpload(repo, header(reply.headers, 'location') ?? '', digest, await this.blob(from, digest));
    return 'copied';
  }

  /**
   * Puts a manifest under `reference` (a tag, or its own digest). Returns its digest and
   * whether the registry processed its `subject` (the `OCI-Subject` header of OCI 1.1).
   */
  async putManifest(
    repo: string,
    reference: string,
    body: Buffer,
    mediaType: string,
  ): Promise<{ digest: string; subjectProcessed: boolean }> {
    const digest = sha256(body);
    const put = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, {
      body,
      headers: { 'content-type': mediaType },
      scopes: [RegistryClient.scope(repo, 'pull', 'push')],
    });
    if (put.status !== 201)
      throw new RegistryError(`putting the manifest ${repo}:${reference}`, put.status, put.body.toString());
    const stored = header(put.headers, 'docker-content-digest');
    if (stored && stored !== digest)
      throw new RegistryError(`${repo}:${reference} was stored as ${stored}, not ${digest}`, 201, '');
    return { digest, subjectProcessed: header(put.headers, 'oci-subject') !== undefined };
  }

  /**
   * The referrers of `digest` in `repo` (manifests whose `subject` is it), optionally of one
   * artifact type: from the referrers API, or from the `sha256-<hex>` tag's index where the
   * registry does not offer the API (CNCF distribution 3.x, for one).
   */
  async referrers(repo: string, digest: string, artifactType?: string): Promise<Descriptor[]> {
    const q = artifactType ? `?${new URLSearchParams({ artifactType })}` : '';
    const reply = await this.request('GET', `/v2/${repo}/referrers/${digest}${q}`, {
      headers: { accept: MANIFEST_TYPES.ociIndex },
      scopes: [RegistryClient.scope(repo, 'pull')],
    });
    let manifests: Descriptor[];
    const type = header(reply.headers, 'content-type') ?? '';
    if (reply.status === 200 && type.startsWith(MANIFEST_TYPES.ociIndex)) {
      manifests = (JSON.parse(reply.body.toString()) as { manifests?: Descriptor[] }).manifests ?? [];
    } else if (reply.status === 404 || reply.status === 200) {
      manifests = (await this.referrersIndex(repo, digest))?.manifests ?? [];
    } else {
      throw new RegistryError(`the referrers of ${repo}@${digest}`, reply.status, reply.body.toString());
    }
    return artifactType ? manifests.filter((m) => m.artifactType === artifactType) : manifests;
  }

  private async referrersIndex(repo: string, digest: string): Promise<{ manifests: Descriptor[] } | undefined> {
    try {
      const m = await this.manifest(repo, referrersTag(digest), { index: true });
      return { manifests: m.json.manifests ?? [] };
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) return undefined;
      throw e;
    }
  }

  /**
   * Pushes a manifest that has a `subject` by its digest; where the registry did not process
   * the subject, adds it to the referrers tag schema's index (`sha256-<hex>` of the subject).
   * Returns its descriptor as a referrers list shows it.
   */
  async putReferrer(repo: string, body: Buffer, mediaType: string = MANIFEST_TYPES.ociManifest): Promise<Descriptor> {
    const json = JSON.parse(body.toString()) as Manifest['json'];
    const subject = json.subject?.digest;
    if (!subject) throw new Error('a referrer needs a subject');
    const { digest, subjectProcessed } = await this.putManifest(repo, sha256(body), body, mediaType);
    const artifactType = json.artifactType ?? json.config?.mediaType;
    const descriptor: Descriptor = {
      mediaType,
      digest,
      size: body.length,
      ...(artifactType ? { artifactType } : {}),
      ...(json.annotations ? { annotations: json.annotations } : {}),
    };
    if (!subjectProcessed) {
      const index = (await this.referrersIndex(repo, subject)) ?? { manifests: [] };
      if (!index.manifests.some((m) => m.digest === digest)) {
        const next = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MANIFEST_TYPES.ociIndex,
            manifests: [...index.manifests, descriptor],
          }),
        );
        await this.putManifest(repo, referrersTag(subject), next, MANIFEST_TYPES.ociIndex);
      }
    }
    return descriptor;
  }
}

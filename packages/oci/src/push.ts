// Pushing an image over the OCI distribution API: blobs the registry lacks are uploaded in
// one PUT each (POST for a session, PUT with the digest), then the manifest under its tag.
// Layers shared between images are uploaded once. TLS is verified against the given CA.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type Image, MEDIA } from './image.ts';

export interface Registry {
  /** host:port */
  host: string;
  /** PEM CA bundle the registry's certificate chains to; the system's CAs when omitted. */
  ca?: string;
  /** Plain HTTP (a registry on loopback only); default false. */
  insecure?: boolean;
}

export class RegistryError extends Error {
  readonly status: number;
  constructor(what: string, status: number, body: string) {
    super(`${what}: registry answered ${status}${body ? `: ${body.slice(0, 500)}` : ''}`);
    this.name = 'RegistryError';
    this.status = status;
  }
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  reg: Registry,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const url = new URL(path, `${reg.insecure ? 'http' : 'https'}://${reg.host}`);
  const send = reg.insecure ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method,
        headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        ...(reg.ca ? { ca: reg.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function pushBlob(reg: Registry, repo: string, digest: string, blob: Buffer): Promise<boolean> {
  const head = await call(reg, 'HEAD', `/v2/${repo}/blobs/${digest}`);
  if (head.status === 200) return false;
  const start = await call(reg, 'POST', `/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new RegistryError(`starting an upload to ${repo}`, start.status, start.body);
  const location = new URL(String(start.headers.location ?? ''), `https://${reg.host}`);
  location.searchParams.set('digest', digest);
  const put = await call(reg, 'PUT', `${location.pathname}${location.search}`, blob, {
    'content-type': 'application/octet-stream',
  });
  if (put.status !== 201) throw new RegistryError(`uploading ${digest} to ${repo}`, put.status, put.body);
  return true;
}

/** Pushes `img` as `repo:tag`; returns how many blobs were uploaded (0 when all were there). */
export async function push(reg: Registry, repo: string, tag: string, img: Image): Promise<number> {
  let uploaded = 0;
  for (const l of img.layers) if (await pushBlob(reg, repo, l.digest, l.blob)) uploaded++;
  if (await pushBlob(reg, repo, img.configDescriptor.digest, img.config)) uploaded++;
  const put = await call(reg, 'PUT', `/v2/${repo}/manifests/${tag}`, img.manifest, {
    'content-type': MEDIA.manifest,
  });
  if (put.status !== 201) throw new RegistryError(`putting the manifest of ${repo}:${tag}`, put.status, put.body);
  const stored = put.headers['docker-content-digest'];
  if (stored && stored !== img.digest) {
    throw new RegistryError(`${repo}:${tag} was stored as ${stored}, not ${img.digest}`, put.status, '');
  }
  return uploaded;
}

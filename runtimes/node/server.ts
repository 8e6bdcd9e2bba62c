// Plinth's Node.js function runtime: the contract in runtimes/contract/README.md.
// Runs on Node 24 directly (type stripping), so handlers may be .ts, .mjs or .js.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

type Handler = (req: Request) => unknown;

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '0.0.0.0';
const drainMs = Number(process.env.PLINTH_DRAIN_SECONDS ?? 10) * 1000;

let handler: Handler | undefined;
let loading: Promise<number> | undefined;
let draining = false;
let inflight = 0;

function log(level: string, msg: string, extra: Record<string, unknown> = {}) {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, runtime: 'node', msg, ...extra })}\n`,
  );
}

/** Loads `<file>.<export>` from dir; returns the load time in ms. */
async function load(dir: string, spec: string): Promise<number> {
  const t0 = performance.now();
  const dot = spec.lastIndexOf('.');
  const file = dot > 0 ? spec.slice(0, dot) : spec;
  const name = dot > 0 ? spec.slice(dot + 1) : 'default';
  const path = ['.ts', '.mjs', '.js', ''].map((ext) => join(dir, file + ext)).find((p) => existsSync(p));
  if (!path) throw new Error(`handler file "${file}" not found in ${dir} (tried .ts, .mjs, .js)`);
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const fn = mod[name];
  if (typeof fn !== 'function') throw new Error(`${path} has no exported function "${name}"`);
  handler = fn as Handler;
  return performance.now() - t0;
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, type: string, headers?: Headers) {
  headers?.forEach((v, k) => {
    res.setHeader(k, v);
  });
  if (!res.hasHeader('content-type') && status !== 204) res.setHeader('content-type', type);
  res.statusCode = status;
  res.end(body);
}

async function reply(res: ServerResponse, result: unknown) {
  if (result instanceof Response) {
    send(res, result.status, new Uint8Array(await result.arrayBuffer()), 'application/octet-stream', result.headers);
  } else if (result === undefined || result === null) {
    send(res, 204, '', 'text/plain');
  } else if (typeof result === 'string') {
    send(res, 200, result, 'text/plain; charset=utf-8');
  } else if (result instanceof Uint8Array) {
    send(res, 200, result, 'application/octet-stream');
  } else {
    send(res, 200, JSON.stringify(result), 'application/json');
  }
}

function toRequest(req: IncomingMessage): Request {
  const url = `http://${req.headers.host ?? 'function'}${req.url ?? '/'}`;
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v !== undefined) headers.set(k, v);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(url, {
    method: req.method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
  } as RequestInit);
}

const SPECIALIZE_BODY = 'body needs {"handler": string} and either {"dir": string} or {"files": {relative path: text}}';

/** The function's files as sent by the gateway; an error names what is wrong with them. */
function codeFiles(files: unknown): Record<string, string> {
  if (!files || typeof files !== 'object' || Array.isArray(files)) throw new BadRequest('"files" must be an object');
  for (const [name, text] of Object.entries(files)) {
    if (typeof text !== 'string') throw new BadRequest(`file "${name}" must be text`);
    if (isAbsolute(name) || normalize(name).split(/[\\/]/).includes('..') || name === '')
      throw new BadRequest(`file name "${name}" must be a relative path inside the function`);
  }
  return files as Record<string, string>;
}

/** Writes the function's files into a fresh directory of this process's own. */
async function writeFiles(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'plinth-function-'));
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, normalize(name));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  }
  return dir;
}

class BadRequest extends Error {}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

const server = createServer(async (req, res) => {
  const path = req.url ?? '/';
  if (path === '/_/health') return send(res, 200, '{"status":"ok"}', 'application/json');
  if (path === '/_/ready') {
    const ready = handler !== undefined && !draining;
    return send(res, ready ? 200 : 503, JSON.stringify({ ready }), 'application/json');
  }
  if (path === '/_/specialize' && req.method === 'POST') {
    try {
      const body = await readJson(req);
      const files = body.files === undefined ? undefined : codeFiles(body.files);
      if ((typeof body.dir !== 'string' && !files) || typeof body.handler !== 'string') {
        return send(res, 400, JSON.stringify({ error: SPECIALIZE_BODY }), 'application/json');
      }
      if (handler || loading) return send(res, 409, '{"error":"already specialized"}', 'application/json');
      // A pooled process was started before the function was known: its env comes now.
      if (body.env && typeof body.env === 'object') Object.assign(process.env, body.env);
      loading = (async () => load(files ? await writeFiles(files) : (body.dir as string), body.handler as string))();
      const loadMs = await loading;
      log('info', 'specialized', {
        dir: body.dir,
        files: files && Object.keys(files).length,
        handler: body.handler,
        loadMs,
      });
      return send(res, 200, JSON.stringify({ loadMs }), 'application/json');
    } catch (e) {
      loading = undefined;
      return send(
        res,
        e instanceof BadRequest ? 400 : 500,
        JSON.stringify({ error: (e as Error).message }),
        'application/json',
      );
    }
  }
  if (!handler) return send(res, 503, '{"error":"function not loaded"}', 'application/json');
  inflight++;
  try {
    await reply(res, await handler(toRequest(req)));
  } catch (e) {
    log('error', 'handler failed', { error: (e as Error).message, stack: (e as Error).stack });
    if (!res.headersSent) send(res, 500, JSON.stringify({ error: (e as Error).message }), 'application/json');
    else res.destroy();
  } finally {
    inflight--;
    if (draining && inflight === 0) process.exit(0);
  }
});
server.keepAliveTimeout = 65_000;

process.on('SIGTERM', () => {
  draining = true;
  log('info', 'draining', { inflight });
  server.close();
  server.closeIdleConnections();
  if (inflight === 0) process.exit(0);
  setTimeout(() => process.exit(0), drainMs).unref();
});

const dir = process.env.PLINTH_FUNCTION_DIR;
const spec = process.env.PLINTH_HANDLER;
if (dir && spec) {
  try {
    const loadMs = await load(dir, spec);
    log('info', 'loaded', { dir, handler: spec, loadMs });
  } catch (e) {
    log('error', 'cannot load function', { error: (e as Error).message });
    process.exit(1);
  }
}
server.listen(port, host, () => log('info', 'listening', { host, port, pool: !handler }));

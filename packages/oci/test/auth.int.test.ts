// Registry auth against a real registry that asks for it: a second CNCF distribution (the
// ground's binary) on 127.0.0.1 with token auth (Docker's token protocol: a 401 with a Bearer
// challenge, a token from the realm, ES256 JWTs checked against a JWKS), and a token server in
// this test that wants basic credentials and grants `repository:team/*` scopes. Anonymous and
// wrong-password clients are refused; with credentials a push, an append across repositories
// (a mount needs a token for two repositories), signing and verifying all work.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, GROUND_DIR, ground, requireGround } from '@plinth/ground';
import {
  append,
  image,
  layer,
  publicKeyPem,
  push,
  type Registry,
  RegistryClient,
  RegistryError,
  sign as signImage,
  verify,
} from '../src/index.ts';

const USER = 'robot';
const PASSWORD = 'robot-password';
const SERVICE = 'plinth-test-registry';
const ISSUER = 'plinth-test-token-server';

const work = mkdtempSync(join(tmpdir(), 'plinth-oci-auth-'));
const jwtKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const tokenRequests: string[][] = [];
let tokenServer: Server;
let registryProcess: ChildProcess | undefined;
let host: string;
let ca: string;

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** An ES256 JWT for the scopes asked for, limited to repositories under team/. */
function token(scopes: string[]): string {
  const access = scopes.flatMap((s) => {
    const [type, name, actions] = s.split(':');
    return type === 'repository' && name?.startsWith('team/')
      ? [{ type, name, actions: actions?.split(',') ?? [] }]
      : [];
  });
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: 'test-key' }));
  const claims = b64url(
    JSON.stringify({
      iss: ISSUER,
      sub: USER,
      aud: SERVICE,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    }),
  );
  const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key: jwtKey.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${header}.${claims}.${b64url(sig)}`;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

before(async () => {
  await requireGround('registry');
  ca = readFileSync(ground('REGISTRY_CA_FILE'), 'utf8');
  const pki = dirname(ground('REGISTRY_CA_FILE'));
  const tls = { cert: readFileSync(join(pki, 'registry.crt')), key: readFileSync(join(pki, 'registry.key')) };
  const version = /^DISTRIBUTION_VERSION=(\S+)$/m.exec(readFileSync(join(GROUND_DIR, 'versions.env'), 'utf8'))?.[1];
  const bin = join(
    process.env.PLINTH_CACHE ?? join(homedir(), '.cache', 'plinth-ground'),
    'bin',
    `registry-${version}`,
    'registry',
  );
  if (!existsSync(bin)) throw new Error(`the ground's registry binary is not at ${bin}: run test/ground/install go`);

  tokenServer = createServer(tls, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    if (user !== USER || password !== PASSWORD || url.searchParams.get('service') !== SERVICE) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    tokenRequests.push(scopes);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: token(scopes), expires_in: 300 }));
  });
  await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
  const tokenPort = (tokenServer.address() as { port: number }).port;

  const jwk = { ...jwtKey.publicKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'ES256', use: 'sig' };
  writeFileSync(join(work, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  writeFileSync(
    join(work, 'config.yml'),
    [
      'version: 0.1',
      'log: {level: warn}',
      `storage: {filesystem: {rootdirectory: ${join(work, 'data')}}}`,
      `http: {addr: "${host}", tls: {certificate: ${join(pki, 'registry.crt')}, key: ${join(pki, 'registry.key')}}}`,
      'auth:',
      '  token:',
      `    realm: https://127.0.0.1:${tokenPort}/token`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    jwks: ${join(work, 'jwks.json')}`,
      '',
    ].join('\n'),
  );
  registryProcess = spawn(bin, ['serve', join(work, 'config.yml')], {
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  registryProcess.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  // Up when /v2/ answers 401 with the challenge (asked without the client, which would follow it).
  await eventually(
    `the auth registry on ${host}`,
    () =>
      new Promise<boolean>((resolve) => {
        if (registryProcess?.exitCode !== null) throw new Error(`the registry exited: ${stderr.slice(-500)}`);
        get(`https://${host}/v2/`, { ca }, (res) => {
          res.resume();
          resolve(res.statusCode === 401 && /^Bearer realm=/.test(res.headers['www-authenticate'] ?? ''));
        }).on('error', () => resolve(false));
      }),
  );
});

after(async () => {
  if (registryProcess?.pid) {
    registryProcess.kill('SIGTERM');
    await new Promise((r) => registryProcess?.once('exit', r));
  }
  await new Promise((r) => tokenServer?.close(r));
  rmSync(work, { recursive: true, force: true });
});

describe('registry auth (bearer token challenge, basic credentials at the realm)', () => {
  const entries = (text: string) => [{ path: 'app/main.js', type: 'file' as const, content: Buffer.from(text) }];

  it('refuses an anonymous client and a wrong password with the token server answer', async () => {
    const img = image([await layer(entries('anon'))], { user: '65532:65532', entrypoint: ['/app/main.js'] });
    const anonymous: Registry = { host, ca };
    await assert.rejects(
      push(anonymous, 'team/base', 'v1', img),
      (e) => e instanceof RegistryError && e.status === 401,
    );
    const wrong: Registry = { host, ca, auth: { username: USER, password: 'nope' } };
    await assert.rejects(
      push(wrong, 'team/base', 'v1', img),
      /a token from https:\/\/127\.0\.0\.1:\d+\/token: registry answered 401/,
    );
  });

  it('pushes, appends across repositories, signs and verifies with a token per scope', async () => {
    const client = new RegistryClient({ host, ca, auth: { username: USER, password: PASSWORD } });
    try {
      const base = image([await layer(entries('base'))], { user: '65532:65532', entrypoint: ['/app/main.js'] });
      await push(client, 'team/base', 'v1', base);
      const fn = await append(client, {
        base: 'team/base:v1',
        target: 'team/fn',
        layers: [await layer(entries('fn'))],
      });
      assert.equal(fn.blobs.mounted, 1);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await signImage(client, { repo: 'team/fn', digest: fn.digest, key });
      const ok = await verify(client, { repo: 'team/fn', digest: fn.digest, publicKey: publicKeyPem(key) });
      assert.equal(ok.length, 2);
      // The mount asked for both repositories in one token.
      assert.ok(
        tokenRequests.some(
          (s) => s.includes('repository:team/base:pull') && s.includes('repository:team/fn:pull,push'),
        ),
        JSON.stringify(tokenRequests),
      );
      // Tokens are reused per scope, not fetched per request.
      assert.ok(tokenRequests.length < 10, `${tokenRequests.length} token requests`);
      // Outside the granted namespace, the registry refuses with the token it has.
      await assert.rejects(client.manifest('other/repo', 'v1'), (e) => e instanceof RegistryError && e.status === 401);
    } finally {
      client.close();
    }
  });
});

// `plinth dev` settles route ownership as a cluster does: a team-b function that claims team-a's
// default path or team-a's host (granted by team-a's Tenant manifest) is not routed, its
// conflict is printed as that function's error, and team-a's function keeps its requests.
// team-b is granted the catch-alls (/ and *.a.test) around team-a's grants: it still cannot
// claim inside them, and team-a's granted prefix and host never fall through to team-b's /.
// Then a function edited to claim the host another function is routed at does not take it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { eventually } from '@plinth/ground';
import { spawnDev } from './dev-process.ts';

let dev: ChildProcess | undefined;
after(() => {
  dev?.kill('SIGKILL');
});

function get(url: string, host?: string, authorization?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...(host ? { host } : {}), ...(authorization ? { authorization } : {}) };
    const req = request(url, { headers }, async (res) => {
      let body = '';
      for await (const c of res) body += c;
      resolve({ status: res.statusCode ?? 0, body });
    });
    req.on('error', reject);
    req.end();
  });
}

it("refuses a team-b function that claims team-a's path or host, and team-a keeps its traffic", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plinth-dev-routes-'));
  const stolen = join(dir, 'stolen.log');
  const fn = (ns: string, name: string, http: string, handler: string) => {
    mkdirSync(join(dir, `${ns}-${name}`));
    writeFileSync(join(dir, `${ns}-${name}`, 'handler.mjs'), handler);
    writeFileSync(
      join(dir, `${ns}-${name}`, 'function.yaml'),
      `apiVersion: plinth.dev/v1alpha1\nkind: Function\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n  runtime: node\n  source: { configMap: { name: ${name} } }\n  http: ${http}\n`,
    );
  };
  const attacker = `import { appendFileSync } from 'node:fs';\nexport default (req) => { appendFileSync(${JSON.stringify(stolen)}, req.url + ' ' + (req.headers.get('authorization') ?? '') + '\\n'); return { who: 'attacker' }; };\n`;
  writeFileSync(
    join(dir, 'tenants.yaml'),
    `apiVersion: plinth.dev/v1alpha1
kind: Tenant
metadata: { name: team-a }
spec: { namespaces: [team-a], routes: { hosts: [shop.a.test], pathPrefixes: [/shop] } }
---
apiVersion: plinth.dev/v1alpha1
kind: Tenant
metadata: { name: team-b }
spec: { namespaces: [team-b], routes: { hosts: ['*.a.test'], pathPrefixes: [/] } }
`,
  );
  fn('team-a', 'hello', '{ host: shop.a.test }', "export default () => ({ who: 'team-a' });\n");
  fn('team-b', 'steal-path', '{ path: /fn/team-a/hello }', attacker);
  fn('team-b', 'steal-host', '{ host: shop.a.test }', attacker);
  fn('team-b', 'steal-nested', '{ path: /shop/checkout }', attacker);
  // team-b's catch-all: it records what it receives, which must be none of team-a's requests.
  fn('team-b', 'site', '{ path: / }', attacker);
  fn('team-b', 'own', '{}', "export default () => ({ who: 'team-b' });\n");
  // Sorts before hello: at the same age, it would win a contest for hello's host.
  fn('team-a', 'aaa-elder', '{}', attacker);

  const out = spawnDev(dir);
  dev = out.child;
  const base = await eventually(
    'plinth dev to list its routes',
    () => /team-a\/hello\s+(http:\/\/127\.0\.0\.1:\d+)\/fn\/team-a\/hello/.exec(out.stdout())?.[1],
    60_000,
  );
  assert.match(out.stdout(), /plinth dev: 4 function\(s\)/);
  assert.doesNotMatch(out.stdout(), /steal/);
  assert.ok(
    out
      .stderr()
      .includes(
        'team-b/steal-path | error RouteConflict: not routed: path /fn/team-a/hello is inside /fn/team-a/, the default paths of namespace team-a; Function team-a/hello serves it',
      ),
    out.stderr(),
  );
  assert.ok(
    out
      .stderr()
      .includes(
        "team-b/steal-host | error RouteConflict: not routed: host shop.a.test is granted to Tenant team-a, more specific than Tenant team-b's *.a.test; Function team-a/hello serves it",
      ),
    out.stderr(),
  );
  assert.ok(
    out
      .stderr()
      .includes(
        "team-b/steal-nested | error RouteConflict: not routed: path /shop/checkout is inside /shop, granted to Tenant team-a, more specific than Tenant team-b's /",
      ),
    out.stderr(),
  );

  // The victim's traffic, by path and by host (with its credentials), reaches the victim only.
  assert.deepEqual(await get(`${base}/fn/team-a/hello`), { status: 200, body: '{"who":"team-a"}' });
  assert.deepEqual(await get(`${base}/fn/team-a/hello/admin`), { status: 200, body: '{"who":"team-a"}' });
  assert.deepEqual(await get(`${base}/anything`, 'shop.a.test'), { status: 200, body: '{"who":"team-a"}' });
  assert.deepEqual(await get(`${base}/fn/team-b/own`), { status: 200, body: '{"who":"team-b"}' });
  assert.equal((await get(`${base}/fn/team-b/steal-path`)).status, 404);
  // The host however written, and team-a's granted prefix with nothing of team-a's there: never
  // team-b's catch-all.
  for (const host of ['SHOP.a.test.', 'shop.a.test:8080']) {
    assert.deepEqual(await get(`${base}/anything`, host), { status: 200, body: '{"who":"team-a"}' }, host);
  }
  assert.equal((await get(`${base}/shop/checkout`)).status, 404);
  assert.equal((await get(`${base}/shop`)).status, 404);
  assert.equal(existsSync(stolen), false, 'the attacker functions received nothing');
  // team-b's catch-all does serve what is team-b's.
  assert.equal((await get(`${base}/about`)).status, 200);
  assert.match(readFileSync(stolen, 'utf8'), /^http:\/\/[^/]+\/about \n$/);
  rmSync(stolen);

  // team-a's elder function is edited to claim the host hello is routed at: hello keeps it.
  writeFileSync(
    join(dir, 'team-a-aaa-elder', 'function.yaml'),
    'apiVersion: plinth.dev/v1alpha1\nkind: Function\nmetadata: { name: aaa-elder, namespace: team-a }\nspec:\n  runtime: node\n  source: { configMap: { name: aaa-elder } }\n  http: { host: shop.a.test }\n',
  );
  await eventually(
    'the edited function to be refused',
    () =>
      out
        .stderr()
        .includes(
          'team-a/aaa-elder | error RouteConflict: not routed: host shop.a.test is served by Function team-a/hello, which holds it',
        ),
    30_000,
  );
  assert.deepEqual(await get(`${base}/login`, 'shop.a.test', 'Bearer team-a'), {
    status: 200,
    body: '{"who":"team-a"}',
  });
  assert.equal((await get(`${base}/fn/team-a/aaa-elder`)).status, 404);
  assert.equal(existsSync(stolen), false, 'the edited function received nothing');
});

// `plinth identity check` against the ground's slapd, as a user runs it: the seeded user's
// groups, the nested one included, and a clear failure for each misconfiguration.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ground, groundLdapIdentity, requireGround } from '@plinth/ground';
import { stringify } from 'yaml';

const cli = join(import.meta.dirname, '..', 'src', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'plinth-identity-'));
let ldap: Record<string, unknown>;

/** Runs `plinth identity check` with the config changed by `edit`; returns exit code and output. */
async function check(
  user: string,
  edit: (l: Record<string, unknown>) => Record<string, unknown> = (l) => l,
  password?: string,
) {
  const file = join(dir, `identity-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ issuer: 'https://dex.plinth.test/dex', ldap: edit({ ...ldap }) }));
  const child = promisify(execFile)(process.execPath, [
    cli,
    'identity',
    'check',
    user,
    '-c',
    file,
    ...(password !== undefined ? ['--password-stdin'] : []),
  ]);
  if (password !== undefined) child.child.stdin?.end(`${password}\n`);
  try {
    const { stdout } = await child;
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: `${err.stdout}${err.stderr}` };
  }
}

before(async () => {
  await requireGround('ldap');
  ldap = groundLdapIdentity();
});

describe('plinth identity check', () => {
  it("prints the user's groups, the nested one with the group it comes through, and what Kubernetes sees", async () => {
    const r = await check('alice');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /user {7}uid=alice,ou=people,dc=plinth,dc=test/);
    assert.match(r.out, /groups {5}backend\n {11}team-a-developers {3}\(nested, through backend\)/);
    assert.match(
      r.out,
      /Kubernetes will see user oidc:alice@plinth\.test in groups oidc:backend, oidc:team-a-developers/,
    );
  });

  it("checks the user's own password when given one", async () => {
    const ok = await check('alice', undefined, ground('LDAP_TEST_USER_PASSWORD'));
    assert.match(ok.out, /password {3}accepted by the directory/);
    const wrong = await check('alice', undefined, 'not-her-password');
    assert.deepEqual(wrong, {
      code: 1,
      out: 'plinth identity check: the directory refused the password for uid=alice,ou=people,dc=plinth,dc=test\n',
    });
  });

  it('says what to fix for each misconfiguration', async () => {
    const badPassword = join(dir, 'wrong-bind-password');
    writeFileSync(badPassword, 'wrong');
    const cases: [string, (l: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
      [
        'wrong bind password',
        (l) => ({ ...l, bindPasswordFile: badPassword }),
        /the directory refused ldap\.bindDN "cn=plinth-reader/,
      ],
      [
        'bind DN that is not a DN',
        (l) => ({ ...l, bindDN: 'plinth-reader' }),
        /ldap\.bindDN "plinth-reader" is not a valid DN/,
      ],
      [
        'wrong user base',
        (l) => ({ ...l, userBaseDN: 'ou=staff,dc=plinth,dc=test' }),
        /the user base DN "ou=staff,dc=plinth,dc=test" does not exist in the directory \(ldap\.userBaseDN\)/,
      ],
      [
        'CA not given',
        (l) => ({ ...l, caFile: undefined }),
        /TLS to ldaps:\/\/127\.0\.0\.1:\d+ failed: .*\(check ldap\.caFile/,
      ],
      [
        'nothing listening',
        (l) => ({ ...l, url: 'ldaps://127.0.0.1:1' }),
        /cannot reach the directory at ldaps:\/\/127\.0\.0\.1:1/,
      ],
      [
        'unknown field',
        (l) => ({ ...l, groupBase: 'x' }),
        /invalid identity config:\n {2}ldap\.groupBase: Unexpected property/,
      ],
    ];
    for (const [what, edit, message] of cases) {
      const r = await check('alice', edit);
      assert.notEqual(r.code, 0, `${what}: should fail`);
      assert.match(r.out, message, what);
    }
    const nobody = await check('zed');
    assert.match(
      nobody.out,
      /no user with uid=zed under ou=people,dc=plinth,dc=test matching \(objectClass=inetOrgPerson\)/,
    );
  });
});

// What PostgreSQL sees for a verified token: the role it names (when the API lets tokens assume
// it) and its scalar claims as jwt.claims.* settings for RLS policies; the anonymous role without
// a token; and the refusals, with the status and reason the server answers and counts.
// test/e2e/graphql-api.test.ts checks the same through real tokens and a real database.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AuthConfig, AuthError, pgSettingsFor } from '../src/auth.ts';

const config: AuthConfig = { jwt: { secret: 's' }, roles: ['app_user', 'app_admin'] };

/** The AuthError `fn` throws, as status, reason and message. */
function refusal(fn: () => unknown): { status: number; reason: string; message: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AuthError, `an AuthError, not ${String(e)}`);
    return { status: e.status, reason: e.reason, message: e.message };
  }
  assert.fail('not refused');
}

describe('pgSettingsFor', () => {
  it("sets the token's role and its claims as jwt.claims.*", () => {
    assert.deepEqual(pgSettingsFor({ sub: 'alice', role: 'app_user', iat: 1700000000 }, config), {
      role: 'app_user',
      'jwt.claims.sub': 'alice',
      'jwt.claims.role': 'app_user',
      'jwt.claims.iat': '1700000000',
    });
  });

  it('writes numbers and booleans as text, objects and arrays as JSON, and leaves out null claims', () => {
    const settings = pgSettingsFor(
      {
        role: 'app_admin',
        email_verified: false,
        groups: ['ops', 'billing'],
        org: { id: 7, name: 'acme' },
        tier: 2.5,
        nickname: null as unknown as string,
      },
      config,
    );
    assert.equal(settings.role, 'app_admin');
    assert.equal(settings['jwt.claims.email_verified'], 'false');
    assert.equal(settings['jwt.claims.groups'], '["ops","billing"]');
    assert.equal(settings['jwt.claims.org'], '{"id":7,"name":"acme"}');
    assert.equal(settings['jwt.claims.tier'], '2.5');
    assert.ok(!('jwt.claims.nickname' in settings), 'a null claim sets nothing');
  });

  it('sets only claims whose names are plain identifiers, so a claim cannot name another setting', () => {
    const settings = pgSettingsFor(
      {
        role: 'app_user',
        Team_1: 'red',
        [`c${'x'.repeat(51)}`]: 'longest allowed',
        [`c${'x'.repeat(52)}`]: 'too long',
        'https://example.com/roles': 'namespaced',
        'a.b': 'dotted',
        'x-y': 'dashed',
        '1st': 'leading digit',
        'role"; reset all; --': 'injection',
      },
      config,
    );
    assert.deepEqual(Object.keys(settings).sort(), [
      'jwt.claims.Team_1',
      `jwt.claims.c${'x'.repeat(51)}`,
      'jwt.claims.role',
      'role',
    ]);
  });

  it('reads the role from the configured claim', () => {
    const custom: AuthConfig = { ...config, jwt: { secret: 's', roleClaim: 'pg_role' } };
    const settings = pgSettingsFor({ sub: 'bob', role: 'ignored', pg_role: 'app_admin' }, custom);
    assert.equal(settings.role, 'app_admin', 'the configured claim, not `role`');
    assert.equal(settings['jwt.claims.role'], 'ignored', 'the other claim is still a claim');
    assert.deepEqual(
      refusal(() => pgSettingsFor({ sub: 'bob', role: 'app_user' }, custom)),
      {
        status: 403,
        reason: 'no-role',
        message: 'the token has no "pg_role" claim naming a role',
      },
    );
  });

  it('refuses a token without a role, with an empty or non-text role, with 403', () => {
    for (const claims of [{ sub: 'alice' }, { sub: 'alice', role: '' }, { sub: 'alice', role: ['app_user'] }]) {
      assert.deepEqual(
        refusal(() => pgSettingsFor(claims, config)),
        { status: 403, reason: 'no-role', message: 'the token has no "role" claim naming a role' },
        JSON.stringify(claims),
      );
    }
  });

  it('refuses a role the API does not let tokens assume, even one PostgreSQL has', () => {
    for (const role of ['postgres', 'APP_USER', 'app_user ']) {
      assert.deepEqual(
        refusal(() => pgSettingsFor({ sub: 'mallory', role }, config)),
        { status: 403, reason: 'role-not-allowed', message: `role "${role}" is not one this API lets tokens assume` },
        role,
      );
    }
  });

  it('gives a request without a token the anonymous role and no claims, or 401 when there is none', () => {
    assert.deepEqual(pgSettingsFor(undefined, { ...config, anonymousRole: 'web_anon' }), { role: 'web_anon' });
    const missing = refusal(() => pgSettingsFor(undefined, config));
    assert.equal(missing.status, 401);
    assert.equal(missing.reason, 'missing');
    assert.match(missing.message, /Authorization: Bearer/);
  });
});

// What a declaration may carry, checked before anything reaches PostgreSQL: policy expressions
// through PostgreSQL's own parser (libpg_query), role references within the declaration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Declaration, declarationProblems, expressionProblem } from '@plinth/pg-access';

describe('policy expressions', () => {
  it('accepts one expression, subqueries and function calls included', async () => {
    for (const e of [
      "owner = current_setting('jwt.claims.sub', true)",
      'public',
      'exists (select 1 from app.members m where m.team = team and m.name = current_user)',
      "(a = 1) or (b in ('x', 'y'))",
    ]) {
      assert.equal(await expressionProblem(e), undefined, e);
    }
  });

  it('refuses anything that is more than one expression, naming why', async () => {
    const cases: [string, RegExp][] = [
      ['true); CREATE ROLE x SUPERUSER; SELECT (true', /makes 3 statements/],
      ['true); DROP TABLE app.t; --', /makes 2 statements|not a valid SQL expression/],
      ['true) FROM pg_authid WHERE (true', /closes its parenthesis/],
      ['true), (false', /closes its parenthesis/],
      ['true) UNION SELECT (false', /closes its parenthesis/],
      ['true) --', /not a valid SQL expression/],
      ['true) /*', /not a valid SQL expression/],
      ['true) --\n) WITH CHECK (false', /not a valid SQL expression|closes its parenthesis/],
      ['', /not a valid SQL expression/],
    ];
    for (const [e, why] of cases) assert.match((await expressionProblem(e)) ?? 'accepted', why, e);
  });
});

describe('role references', () => {
  const base: Declaration = { roles: [{ name: 'app' }, { name: 'web', login: true, memberOf: ['app'] }] };
  it('keeps memberships, grants and policies within the declared roles', async () => {
    assert.deepEqual(await declarationProblems(base), []);
    const problems = await declarationProblems({
      roles: [
        { name: 'app', memberOf: ['postgres', 'app'] },
        { name: 'pg_mine' },
        { name: 'web', memberOf: ['shared'] },
      ],
      tables: [{ role: 'other_tenant', table: 'app.t', privileges: ['SELECT'] }],
      defaultPrivileges: [{ role: 'app', schema: 'app', objects: 'TABLES', privileges: ['SELECT'], creator: 'victim' }],
      policies: [{ table: 'app.t', name: 'p', roles: ['nobody'], using: 'true' }],
    });
    assert.deepEqual(problems, [
      'roles[0].memberOf[0]: postgres is not a role of this Database; roles may only join roles declared here',
      'roles[0].memberOf[1]: a role cannot be a member of itself',
      'roles[1].name: pg_mine is reserved (pg_* and plinth_* roles)',
      'roles[2].memberOf[0]: shared is not a role of this Database; roles may only join roles declared here',
      'tablePrivileges[0].role: other_tenant is not a role of this Database',
      'defaultPrivileges[0].creator: victim is not a role of this Database',
      'policies[0].roles[0]: nobody is not a role of this Database',
    ]);
  });
  it('lets roles join what the platform lists as grantable', async () => {
    const decl: Declaration = { roles: [{ name: 'web', memberOf: ['reporting'] }] };
    assert.equal((await declarationProblems(decl)).length, 1);
    assert.deepEqual(await declarationProblems(decl, { grantable: ['reporting'] }), []);
  });
});

// Route ownership, the one rule the gateway, the operator and `plinth dev` share: who may claim
// a path or a host, and which of two claims on one of them is routed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimKey, type RouteClaim, type RouteGrant, resolveRoutes } from '@plinth/faas';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:00:01Z';
const T2 = '2026-01-01T00:00:02Z';

const fn = (namespace: string, name: string, extra: Partial<RouteClaim> = {}): RouteClaim => ({
  kind: 'Function',
  namespace,
  name,
  createdAt: T0,
  path: `/fn/${namespace}/${name}`,
  ...extra,
});
const api = (namespace: string, name: string, extra: Partial<RouteClaim> = {}): RouteClaim => ({
  kind: 'GraphQLApi',
  namespace,
  name,
  createdAt: T0,
  path: `/graphql/${namespace}/${name}`,
  ...extra,
});
const teamA: RouteGrant = {
  tenant: 'team-a',
  createdAt: T0,
  namespaces: ['team-a'],
  hosts: ['shop.a.test', '*.apps.a.test'],
  pathPrefixes: ['/shop/'],
};
const teamB: RouteGrant = {
  tenant: 'team-b',
  createdAt: T0,
  namespaces: ['team-b'],
  hosts: ['b.test'],
  pathPrefixes: ['/b'],
};

function refusal(claims: RouteClaim[], grants: RouteGrant[], c: RouteClaim) {
  return resolveRoutes(claims, grants).refused.get(claimKey(c.kind, c.namespace, c.name));
}

describe('route ownership', () => {
  it("refuses another namespace's default path, naming the namespace and the function serving it", () => {
    const victim = fn('team-a', 'hello');
    for (const path of ['/fn/team-a/hello', '/fn/team-a/hello/admin', '/fn/team-a/']) {
      const attacker = fn('team-b', 'steal', { createdAt: T1, path });
      const claims = [victim, attacker];
      const r = resolveRoutes(claims, [teamA, teamB]);
      assert.ok(r.accepted.has('Function/team-a/hello'));
      assert.ok(!r.accepted.has('Function/team-b/steal'), path);
      const why = r.refused.get('Function/team-b/steal');
      assert.equal(why?.reason, 'RouteConflict');
      assert.match(why?.message ?? '', /inside \/fn\/team-a\/, the default paths of namespace team-a/);
    }
    // Exactly the victim's path: the holder is named too. Older or not, the attacker loses.
    const attacker = fn('team-b', 'steal', { createdAt: '2025-01-01T00:00:00Z', path: '/fn/team-a/hello' });
    const why = refusal([victim, attacker], [teamA, teamB], attacker);
    assert.equal(why?.holder, 'Function team-a/hello');
    assert.match(why?.message ?? '', /; Function team-a\/hello serves it$/);
  });

  it("refuses a GraphQL API's path and the /fn/ and /_/ trees themselves", () => {
    const victim = api('team-a', 'notes');
    const attacker = fn('team-b', 'steal', { createdAt: T1, path: '/graphql/team-a/notes' });
    const why = refusal([victim, attacker], [teamA, teamB], attacker);
    assert.match(why?.message ?? '', /\/graphql\/team-a\/, the default paths of namespace team-a/);
    assert.equal(why?.holder, 'GraphQLApi team-a/notes');
    for (const path of ['/fn', '/fn/', '/graphql', '/_/metrics', '/fn/team-b/../team-a/hello', '//fn/team-a']) {
      const c = fn('ops', 'x', { path });
      assert.ok(refusal([c], [], c), path);
    }
  });

  it("refuses a host another tenant is granted, and one the namespace's own tenant does not grant", () => {
    const victim = fn('team-a', 'shop', { host: 'shop.a.test', path: '/shop' });
    const attacker = fn('team-b', 'steal', { createdAt: T1, host: 'shop.a.test' });
    const r = resolveRoutes([victim, attacker], [teamA, teamB]);
    assert.ok(r.accepted.has('Function/team-a/shop'));
    assert.equal(
      r.refused.get('Function/team-b/steal')?.message,
      'not routed: host shop.a.test is not among the hosts Tenant team-b grants (b.test); Function team-a/shop serves it',
    );
    // team-b's own path, granted: still refused as a whole, because of the host.
    const both = fn('team-b', 'both', { createdAt: T1, path: '/b/x', host: 'evil.test' });
    assert.match(refusal([both], [teamA, teamB], both)?.message ?? '', /host evil\.test is not among/);
  });

  it('grants *.suffix hosts below the suffix only', () => {
    const ok = ['x.apps.a.test', 'y.x.apps.a.test'].map((host, i) => fn('team-a', `f${i}`, { host }));
    const bad = fn('team-a', 'bare', { host: 'apps.a.test' });
    const r = resolveRoutes([...ok, bad], [teamA]);
    assert.deepEqual([...r.accepted].sort(), ['Function/team-a/f0', 'Function/team-a/f1']);
    assert.match(r.refused.get('Function/team-a/bare')?.message ?? '', /host apps\.a\.test is not among/);
  });

  it('keeps custom paths inside what the tenant grants', () => {
    const inside = fn('team-a', 'cart', { path: '/shop/cart' });
    const exact = fn('team-a', 'shop', { path: '/shop' });
    const outside = fn('team-a', 'admin', { path: '/admin' });
    const sibling = fn('team-a', 'shopping', { path: '/shopping' });
    const r = resolveRoutes([inside, exact, outside, sibling], [teamA]);
    assert.deepEqual([...r.accepted].sort(), ['Function/team-a/cart', 'Function/team-a/shop']);
    assert.equal(
      r.refused.get('Function/team-a/admin')?.message,
      'not routed: path /admin is not among the path prefixes Tenant team-a grants (/shop)',
    );
    assert.ok(r.refused.has('Function/team-a/shopping'));
  });

  it('gives a contested path or host to the oldest claim, then by namespace and name', () => {
    const first = fn('team-a', 'zz-first', { path: '/shop/', createdAt: T0 });
    const second = fn('team-a', 'aa-second', { path: '/shop', createdAt: T1 });
    const r = resolveRoutes([second, first], [teamA]);
    assert.ok(r.accepted.has('Function/team-a/zz-first'));
    assert.deepEqual(r.refused.get('Function/team-a/aa-second'), {
      reason: 'RouteConflict',
      message: 'not routed: path /shop is served by Function team-a/zz-first, which claimed it first',
      holder: 'Function team-a/zz-first',
    });
    // Same second: namespace/name decides, the same way everywhere.
    const a = fn('team-a', 'a', { path: '/shop/x', createdAt: T2 });
    const b = fn('team-a', 'b', { path: '/shop/x', createdAt: T2 });
    assert.deepEqual([...resolveRoutes([b, a], [teamA]).accepted], ['Function/team-a/a']);
    // Hosts too.
    const h1 = fn('team-a', 'h1', { host: 'shop.a.test', createdAt: T1 });
    const h2 = fn('team-a', 'h2', { host: 'shop.a.test', createdAt: T0 });
    assert.match(refusal([h1, h2], [teamA], h1)?.message ?? '', /host shop\.a\.test is served by Function team-a\/h2/);
  });

  it('lets a refused claim hold nothing', () => {
    const squatter = fn('team-b', 'squat', { path: '/shop', createdAt: T0 });
    const owner = fn('team-a', 'shop', { path: '/shop', createdAt: T1 });
    const r = resolveRoutes([squatter, owner], [teamA, teamB]);
    assert.ok(r.accepted.has('Function/team-a/shop'));
    assert.ok(r.refused.has('Function/team-b/squat'));
  });

  it('lets a namespace without a tenant claim what no tenant is granted', () => {
    const edge = fn('ops', 'edge', { path: '/edge', host: 'ops.example.test' });
    const root = fn('ops', 'root', { path: '/' });
    const taken = fn('ops', 'taken', { path: '/shop/x' });
    const host = fn('ops', 'host', { host: 'x.apps.a.test' });
    const r = resolveRoutes([edge, root, taken, host], [teamA]);
    assert.deepEqual([...r.accepted].sort(), ['Function/ops/edge', 'Function/ops/root']);
    assert.match(
      r.refused.get('Function/ops/taken')?.message ?? '',
      /path \/shop\/x is inside \/shop, granted to Tenant team-a, and namespace ops belongs to no Tenant/,
    );
    assert.match(
      r.refused.get('Function/ops/host')?.message ?? '',
      /host x\.apps\.a\.test is granted to Tenant team-a/,
    );
  });

  it('applies the grants of the oldest tenant listing a namespace', () => {
    const grabber: RouteGrant = {
      ...teamB,
      tenant: 'grabber',
      createdAt: T1,
      namespaces: ['team-a'],
      hosts: ['*.test'],
    };
    const c = fn('team-a', 'x', { host: 'b.test' });
    assert.match(refusal([c], [grabber, teamA], c)?.message ?? '', /Tenant team-a grants/);
  });
});

// Route ownership, the one rule the gateway, the operator and `plinth dev` share: who may claim
// a path or a host, and which of two claims on one of them is routed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimKey, fenceRoutes, type RouteClaim, type RouteGrant, resolveRoutes } from '@plinth/faas';

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

describe('route ownership: the most specific grant decides', () => {
  // W is granted the catch-alls; A is granted something inside them.
  const w: RouteGrant = {
    tenant: 'team-w',
    createdAt: T0,
    namespaces: ['team-w'],
    hosts: ['*.example.com'],
    pathPrefixes: ['/'],
  };
  const a: RouteGrant = {
    tenant: 'team-a',
    createdAt: T1,
    namespaces: ['team-a'],
    hosts: ['shop.example.com', '*.shop.example.com'],
    pathPrefixes: ['/shop'],
  };

  it("refuses a catch-all tenant's claim inside another tenant's more specific prefix, older or not", () => {
    const victim = fn('team-a', 'shop', { path: '/shop', createdAt: T2 });
    const deeper = fn('team-a', 'checkout', { path: '/shop/checkout', createdAt: T2 });
    for (const path of ['/shop', '/shop/', '/shop/checkout', '/shop/checkout/pay']) {
      const attacker = fn('team-w', 'steal', { path, createdAt: T0 });
      const r = resolveRoutes([attacker, victim, deeper], [w, a]);
      assert.deepEqual([...r.accepted].sort(), ['Function/team-a/checkout', 'Function/team-a/shop'], path);
      assert.match(
        r.refused.get('Function/team-w/steal')?.message ?? '',
        new RegExp(
          `^not routed: path ${path} is inside /shop, granted to Tenant team-a, more specific than Tenant team-w's /`,
        ),
      );
    }
    // Everything else under / stays W's, and A cannot claim it.
    const site = fn('team-w', 'site', { path: '/shopping' });
    const grab = fn('team-a', 'grab', { path: '/about' });
    const r = resolveRoutes([site, grab], [w, a]);
    assert.deepEqual([...r.accepted], ['Function/team-w/site']);
    assert.match(
      r.refused.get('Function/team-a/grab')?.message ?? '',
      /path \/about is not among the path prefixes Tenant team-a grants \(\/shop\)/,
    );
  });

  it('gives an exact host grant before a wildcard, and a longer wildcard before a shorter one', () => {
    const victim = fn('team-a', 'shop', { host: 'shop.example.com', createdAt: T2 });
    const attacker = fn('team-w', 'steal', { host: 'shop.example.com', createdAt: T0 });
    const r = resolveRoutes([attacker, victim], [w, a]);
    assert.deepEqual([...r.accepted], ['Function/team-a/shop']);
    assert.equal(
      r.refused.get('Function/team-w/steal')?.message,
      "not routed: host shop.example.com is granted to Tenant team-a, more specific than Tenant team-w's *.example.com; Function team-a/shop serves it",
    );
    const deep = fn('team-w', 'deep', { host: 'eu.shop.example.com' });
    assert.match(
      refusal([deep], [w, a], deep)?.message ?? '',
      /host eu\.shop\.example\.com is granted as \*\.shop\.example\.com to Tenant team-a, more specific than Tenant team-w's \*\.example\.com/,
    );
    const other = fn('team-w', 'blog', { host: 'blog.example.com' });
    assert.deepEqual([...resolveRoutes([other], [w, a]).accepted], ['Function/team-w/blog']);
    // A namespace without a tenant cannot take what any grant covers.
    const ops = fn('ops', 'x', { host: 'x.example.com' });
    assert.match(
      refusal([ops], [w, a], ops)?.message ?? '',
      /host x\.example\.com is granted to Tenant team-w \(as \*\.example\.com\), and namespace ops belongs to no Tenant/,
    );
  });

  it('gives a prefix or host granted to two tenants to the older tenant, and reports the overlap', () => {
    const copy: RouteGrant = {
      tenant: 'team-copy',
      createdAt: T2,
      namespaces: ['team-copy'],
      hosts: ['shop.example.com'],
      pathPrefixes: ['/shop/'],
    };
    const victim = fn('team-a', 'shop', { path: '/shop', host: 'shop.example.com', createdAt: T2 });
    const attacker = fn('team-copy', 'steal', { path: '/shop/x', createdAt: T0 });
    const r = resolveRoutes([attacker, victim], [copy, w, a]);
    assert.deepEqual([...r.accepted], ['Function/team-a/shop']);
    assert.match(
      r.refused.get('Function/team-copy/steal')?.message ?? '',
      /path \/shop\/x is inside \/shop, which Tenant team-a is granted too; it is older and holds it/,
    );
    assert.deepEqual(
      [...r.overlaps],
      [
        [
          'team-copy',
          'path prefix /shop is also granted to Tenant team-a, which is older and holds it; host shop.example.com is also granted to Tenant team-a, which is older and holds it',
        ],
      ],
    );
    // Nested grants are not overlaps: the more specific one wins by design.
    assert.equal(resolveRoutes([], [w, a]).overlaps.size, 0);
  });
});

describe('route ownership: the incumbent keeps its route', () => {
  const held = (path: string, host?: string) => ({ held: { path, ...(host ? { host } : {}) } });

  it('refuses an older object edited to claim the path or host another object holds', () => {
    const holder = fn('team-a', 'holder', {
      path: '/shop/cart',
      host: 'shop.a.test',
      createdAt: T2,
      ...held('/shop/cart', 'shop.a.test'),
    });
    // Older, and until now at its own path: edited to point at the holder's path, then host.
    for (const claim of [{ path: '/shop/cart/' }, { host: 'shop.a.test' }]) {
      const elder = fn('team-a', 'elder', { createdAt: T0, ...held('/fn/team-a/elder'), ...claim });
      const r = resolveRoutes([elder, holder], [teamA]);
      assert.deepEqual([...r.accepted], ['Function/team-a/holder'], JSON.stringify(claim));
      assert.match(
        r.refused.get('Function/team-a/elder')?.message ?? '',
        /is served by Function team-a\/holder, which holds it$/,
      );
    }
  });

  it('settles newcomers by age, and lets the holder keep what it still claims when it changes the rest', () => {
    const a1 = fn('team-a', 'a1', { path: '/shop/x', createdAt: T2 });
    const a0 = fn('team-a', 'a0', { path: '/shop/x', createdAt: T1 });
    assert.deepEqual([...resolveRoutes([a1, a0], [teamA]).accepted], ['Function/team-a/a0']);
    // The holder moves to another host and keeps its path against an older newcomer.
    const holder = fn('team-a', 'holder', {
      path: '/shop/x',
      host: 'y.apps.a.test',
      createdAt: T2,
      ...held('/shop/x', 'x.apps.a.test'),
    });
    const r = resolveRoutes([a0, holder], [teamA]);
    assert.deepEqual([...r.accepted], ['Function/team-a/holder']);
    // A stale record (the holder moved away from it) keeps nothing.
    const moved = fn('team-a', 'moved', { path: '/shop/z', createdAt: T2, ...held('/shop/x') });
    assert.deepEqual([...resolveRoutes([a0, moved], [teamA]).accepted].sort(), [
      'Function/team-a/a0',
      'Function/team-a/moved',
    ]);
  });

  it('gives up what a refused incumbent kept', () => {
    // The holder of /shop/x also claims a host that another holds: refused as a whole, so /shop/x
    // goes to the next claim in line.
    const hostHolder = fn('team-a', 'h', {
      host: 'x.apps.a.test',
      createdAt: T2,
      ...held('/fn/team-a/h', 'x.apps.a.test'),
    });
    const pathHolder = fn('team-a', 'p', { path: '/shop/x', host: 'x.apps.a.test', createdAt: T0, ...held('/shop/x') });
    const next = fn('team-a', 'n', { path: '/shop/x', createdAt: T1 });
    const r = resolveRoutes([pathHolder, next, hostHolder], [teamA]);
    assert.deepEqual([...r.accepted].sort(), ['Function/team-a/h', 'Function/team-a/n']);
    assert.equal(
      r.refused.get('Function/team-a/p')?.message,
      'not routed: host x.apps.a.test is served by Function team-a/h, which holds it',
    );
  });

  it('gives a path or host two records name to the earlier record, not the older object', () => {
    // A record written from a view that lagged behind an edit: the older object's record is later.
    const holder = fn('team-a', 'holder', {
      host: 'shop.a.test',
      createdAt: T2,
      held: { path: '/fn/team-a/holder', host: 'shop.a.test', since: '2026-02-01T00:00:00Z' },
    });
    const elder = fn('team-a', 'elder', {
      host: 'shop.a.test',
      createdAt: T0,
      held: { path: '/fn/team-a/elder', host: 'shop.a.test', since: '2026-02-01T00:00:05Z' },
    });
    const r = resolveRoutes([elder, holder], [teamA]);
    assert.deepEqual([...r.accepted], ['Function/team-a/holder']);
    assert.match(
      r.refused.get('Function/team-a/elder')?.message ?? '',
      /served by Function team-a\/holder, which holds it/,
    );
  });

  it('never lets a record keep what the claim may no longer have', () => {
    const squatter = fn('team-b', 'squat', { path: '/shop', createdAt: T0, ...held('/shop') });
    const owner = fn('team-a', 'shop', { path: '/shop', createdAt: T1 });
    const r = resolveRoutes([squatter, owner], [teamA, teamB]);
    assert.deepEqual([...r.accepted], ['Function/team-a/shop']);
  });
});

describe('fences', () => {
  it('places one for every granted prefix and host, none inside the namespace trees', () => {
    const fences = fenceRoutes([teamA, teamB, { ...teamB, tenant: 'x', pathPrefixes: ['/b/', '/fn/x'] }]);
    assert.deepEqual(
      fences.map((f) => [f.fence, f.prefix, f.host ?? f.hostSuffix ?? '']),
      [
        ['path', '/shop', ''],
        ['path', '/b', ''],
        ['host', '/', 'shop.a.test'],
        ['host', '/', '.apps.a.test'],
        ['host', '/', 'b.test'],
      ],
    );
    assert.ok(fences.every((f) => f.function === '' && f.targets.length === 0));
  });
});

// Directory identity end to end on the ground: slapd users, the API server's structured
// authentication configuration (checked equal to what Plinth renders), tenants whose
// developer group is a directory group, and RBAC deciding with the groups in the token.
//
// Stand-in: Dex cannot be built here (the Go module proxy refuses every Dex version newer than
// 2018's v2.13.0, which no longer compiles; docs/identity.md). In its place this test serves the
// issuer the API server trusts and mints tokens the way Dex's password grant does: it binds
// to slapd as the user (lookupUser, the same code as `plinth identity check`) and puts the
// user's email and groups, nested ones resolved, in an RS256 ID token. Everything after the
// token (discovery, JWKS, claim mappings, prefixes, RBAC, tenants) is the real API server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { TenantKind } from '@plinth/api';
import { eventually, ground, groundLdapIdentity, requireGround } from '@plinth/ground';
import { isForbidden, KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { useOperator } from '@plinth/operator/testing';
import {
  type IdentityConfig,
  lookupUser,
  parseIdentityConfig,
  platformRoles,
  renderAuthenticationConfiguration,
} from '@plinth/tenancy';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parse } from 'yaml';

const TenantType = resourceOf(TenantKind);
const run = Math.random().toString(36).slice(2, 7);
const nsA = `ida-${run}`;
const nsB = `idb-${run}`;
// Tenants are cluster-scoped: the operator's own namespace holds nothing here. Their
// finalizers need the operator: they are deleted while it still runs.
const operator = useOperator('identity', {
  beforeStop: async () => {
    for (const name of [nsA, nsB]) await operator.client.delete(TenantType, { name });
    await eventually(
      'the tenants are gone',
      async () => {
        for (const name of [nsA, nsB]) if (await operator.client.get(TenantType, { name })) return undefined;
        return true;
      },
      60_000,
    );
  },
});
let admin: KubeClient;
let issuer: Server;
let identity: IdentityConfig;
let mint: (username: string, password: string) => Promise<string>;

/** A client that authenticates with a bearer token only. */
function withToken(token: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'ground', server: ground('K8S_SERVER'), caFile: ground('K8S_CA_FILE') }],
    users: [{ name: 'oidc', token }],
    contexts: [{ name: 'ground', cluster: 'ground', user: 'oidc' }],
    currentContext: 'ground',
  });
  return new KubeClient(kc);
}
type Review = KubeObject & { status: { userInfo: { username: string; groups?: string[] } } };
const whoami = async (c: KubeClient) =>
  (
    (await c.create(
      {
        group: 'authentication.k8s.io',
        version: 'v1',
        kind: 'SelfSubjectReview',
        plural: 'selfsubjectreviews',
        namespaced: false,
      },
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } as KubeObject,
    )) as Review
  ).status.userInfo;

before(async () => {
  await requireGround('kubernetes', 'ldap');
  identity = parseIdentityConfig({ issuer: ground('OIDC_ISSUER_URL'), ldap: groundLdapIdentity() });

  // The stand-in issuer (see the header): discovery, JWKS, and password-grant-like minting.
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = `k-${run}`;
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  const url = identity.issuer;
  issuer = createServer(
    { cert: readFileSync(ground('OIDC_TLS_CERT_FILE')), key: readFileSync(ground('OIDC_TLS_KEY_FILE')) },
    (req, res) => {
      const body =
        req.url === '/.well-known/openid-configuration'
          ? { issuer: url, jwks_uri: `${url}/keys`, id_token_signing_alg_values_supported: ['RS256'] }
          : req.url === '/keys'
            ? jwks
            : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? {}));
    },
  ).listen(Number(new URL(url).port), '127.0.0.1');
  await new Promise((r) => issuer.once('listening', r));
  mint = async (username, password) => {
    const u = await lookupUser(identity, username, password);
    return new SignJWT({ email: u.email, email_verified: true, groups: u.groups.map((g) => g.name), name: u.username })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(url)
      .setSubject(u.dn)
      .setAudience(identity.clientId)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  };

  await operator.ready;
  admin = operator.client;
  for (const role of platformRoles()) await admin.apply(Resources.ClusterRole, role, { fieldManager: 'plinth-test' });
  for (const [name, ns, group] of [
    [nsA, nsA, 'team-a-developers'],
    [nsB, nsB, 'team-b-developers'],
  ] as const) {
    await admin.create(TenantType, {
      apiVersion: TenantKind.apiVersion,
      kind: TenantKind.kind,
      metadata: { name },
      spec: { namespaces: [ns], access: { developers: [group] } },
    } as KubeObject);
  }
  for (const name of [nsA, nsB]) {
    await eventually(
      `Tenant ${name} ready`,
      async () =>
        (
          await admin.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(TenantType, {
            name,
          })
        )?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      60_000,
    );
  }
});

after(() => {
  issuer?.close();
});

describe('directory identity', () => {
  it('the API server runs with the authentication configuration Plinth renders', () => {
    const running = parse(readFileSync(ground('K8S_AUTHENTICATION_CONFIG'), 'utf8'));
    assert.deepEqual(running, renderAuthenticationConfiguration(identity, readFileSync(ground('K8S_CA_FILE'), 'utf8')));
  });

  it("a directory user's token is authorized by their directory groups: 200 in their tenant, 403 in the other", async () => {
    const alice = withToken(await mint('alice', ground('LDAP_TEST_USER_PASSWORD')));
    const bob = withToken(await mint('bob', 'bob-password'));
    // The API server fetches the issuer's discovery document in the background; wait for it.
    const who = await eventually(
      'the API server accepts the token',
      () => whoami(alice).catch(() => undefined),
      60_000,
    );
    assert.equal(who.username, 'oidc:alice@plinth.test');
    assert.deepEqual(
      who.groups?.filter((g) => g.startsWith('oidc:')).sort(),
      ['oidc:backend', 'oidc:team-a-developers'],
      'the nested group reaches Kubernetes',
    );
    const status = async (c: KubeClient, ns: string) => {
      try {
        await c.list(Resources.Pod, { namespace: ns });
        return 200;
      } catch (e) {
        return isForbidden(e) ? 403 : (e as Error).message;
      }
    };
    assert.deepEqual(
      {
        aliceInA: await status(alice, nsA),
        aliceInB: await status(alice, nsB),
        bobInA: await status(bob, nsA),
        bobInB: await status(bob, nsB),
      },
      { aliceInA: 200, aliceInB: 403, bobInA: 403, bobInB: 200 },
    );
  });

  it('refuses a wrong directory password, and a token whose signature does not verify gets 401', async () => {
    await assert.rejects(mint('alice', 'not-her-password'), /the directory refused the password/);
    const token = await mint('alice', ground('LDAP_TEST_USER_PASSWORD'));
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, groups: ['team-b-developers'] })).toString('base64url')}.${s}`;
    await assert.rejects(whoami(withToken(forged)), (e: { statusCode?: number }) => e.statusCode === 401);
  });
});

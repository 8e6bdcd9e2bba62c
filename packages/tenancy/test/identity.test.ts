// Rendering identity configs (pure): the presets reach Dex's LDAP connector as documented, and
// a bad config names its fields before anything is rendered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIdentityConfig, renderDexConfig } from '@plinth/tenancy';

const base = {
  issuer: 'https://dex.example.com/dex',
  ldap: {
    preset: 'activedirectory',
    url: 'ldaps://dc1.corp.example.com:636',
    caFile: '/etc/dex/ldap-ca.crt',
    bindDN: 'CN=svc-dex,OU=Service Accounts,DC=corp,DC=example,DC=com',
    bindPasswordFile: '/etc/dex/bind-password',
    userBaseDN: 'OU=Users,DC=corp,DC=example,DC=com',
    groupBaseDN: 'OU=Groups,DC=corp,DC=example,DC=com',
  },
};
const web = { https: '0.0.0.0:5556', tlsCert: '/tls/tls.crt', tlsKey: '/tls/tls.key' };

describe('identity config', () => {
  it('renders the Active Directory preset for Dex, with nested groups and secrets from the environment', () => {
    const dex = renderDexConfig(parseIdentityConfig(base), {
      web,
      clientSecretEnv: 'CLIENT_SECRET',
      bindPasswordEnv: 'BIND_PW',
    });
    const connector = (dex.connectors as { config: Record<string, unknown> }[])[0]?.config;
    assert.deepEqual(connector, {
      host: 'dc1.corp.example.com:636',
      rootCA: '/etc/dex/ldap-ca.crt',
      bindDN: 'CN=svc-dex,OU=Service Accounts,DC=corp,DC=example,DC=com',
      bindPW: '$BIND_PW',
      usernamePrompt: 'Username',
      userSearch: {
        baseDN: 'OU=Users,DC=corp,DC=example,DC=com',
        filter: '(objectClass=person)',
        username: 'sAMAccountName',
        idAttr: 'DN',
        emailAttr: 'userPrincipalName',
        nameAttr: 'displayName',
      },
      groupSearch: {
        baseDN: 'OU=Groups,DC=corp,DC=example,DC=com',
        filter: '(objectClass=group)',
        userMatchers: [{ userAttr: 'DN', groupAttr: 'member', recursionGroupAttr: 'member' }],
        nameAttr: 'cn',
      },
    });
    assert.deepEqual(dex.staticClients, [
      { id: 'kubernetes', name: 'Kubernetes', secretEnv: 'CLIENT_SECRET', redirectURIs: ['http://localhost:8000'] },
    ]);
  });

  it('names every bad field', () => {
    assert.throws(
      () =>
        parseIdentityConfig({ ...base, issuer: 'http://dex', ldap: { ...base.ldap, preset: 'novell', bindDN: '' } }),
      (e: Error) =>
        /issuer: Expected string to match '\^https:\/\/'/.test(e.message) &&
        /ldap\.preset/.test(e.message) &&
        /ldap\.bindDN: Expected string length greater or equal to 1/.test(e.message),
    );
  });
});

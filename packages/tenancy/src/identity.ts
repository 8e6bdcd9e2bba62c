// Identity: directory users and groups reach Kubernetes through OIDC. Dex's LDAP connector
// (presets for OpenLDAP and Active Directory, nested groups by recursion over `member`) issues
// the tokens; the API server trusts Dex through its structured authentication configuration,
// with prefixed username and groups claims. Both configs are rendered here from one typed
// IdentityConfig (pure), and lookupUser asks the real directory what Dex will see.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  AndFilter,
  Client,
  EqualityFilter,
  type Filter,
  FilterParser,
  InvalidCredentialsError,
  InvalidDNSyntaxError,
  NoSuchObjectError,
} from 'ldapts';

export const LdapPresets = ['openldap', 'activedirectory'] as const;
export type LdapPreset = (typeof LdapPresets)[number];

export const IdentityConfigSchema = Type.Object(
  {
    issuer: Type.String({ pattern: '^https://', description: 'Dex issuer URL (https), as the API server reaches it.' }),
    clientId: Type.String({
      default: 'kubernetes',
      description: 'The OIDC client (token audience) for the API server.',
    }),
    usernamePrefix: Type.String({ default: 'oidc:', description: 'Prefix the API server gives usernames.' }),
    groupsPrefix: Type.String({ default: 'oidc:', description: 'Prefix the API server gives groups.' }),
    ldap: Type.Object(
      {
        preset: Type.Union(
          LdapPresets.map((p) => Type.Literal(p)),
          { description: 'Attribute and filter defaults for OpenLDAP or Active Directory.' },
        ),
        url: Type.String({ pattern: '^ldaps?://', description: 'ldaps://host:port, or ldap:// with startTLS.' }),
        startTLS: Type.Boolean({ default: false }),
        caFile: Type.Optional(Type.String({ description: 'PEM CA that signed the directory certificate.' })),
        bindDN: Type.String({ minLength: 1, description: 'The read-only service account Dex and Plinth bind as.' }),
        bindPasswordFile: Type.String({ minLength: 1, description: 'File holding its password (a mounted Secret).' }),
        userBaseDN: Type.String({ minLength: 1 }),
        groupBaseDN: Type.String({ minLength: 1 }),
        userFilter: Type.Optional(Type.String()),
        usernameAttribute: Type.Optional(Type.String()),
        emailAttribute: Type.Optional(Type.String()),
        groupFilter: Type.Optional(Type.String()),
        groupNameAttribute: Type.Optional(Type.String()),
        nestedGroups: Type.Boolean({ default: true, description: 'Resolve groups that are members of groups.' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type IdentityConfig = Static<typeof IdentityConfigSchema>;

const PRESETS: Record<
  LdapPreset,
  { userFilter: string; username: string; email: string; name: string; groupFilter: string; groupName: string }
> = {
  openldap: {
    userFilter: '(objectClass=inetOrgPerson)',
    username: 'uid',
    email: 'mail',
    name: 'cn',
    groupFilter: '(objectClass=groupOfNames)',
    groupName: 'cn',
  },
  activedirectory: {
    userFilter: '(objectClass=person)',
    username: 'sAMAccountName',
    email: 'userPrincipalName',
    name: 'displayName',
    groupFilter: '(objectClass=group)',
    groupName: 'cn',
  },
};

/** The config with defaults, or an error naming every bad field. */
export function parseIdentityConfig(input: unknown): IdentityConfig {
  const withDefaults = Value.Default(IdentityConfigSchema, structuredClone(input));
  const errors = [...Value.Errors(IdentityConfigSchema, withDefaults)];
  if (errors.length) {
    const lines = errors.map((e) => `  ${e.path.replace(/^\//, '').replace(/\//g, '.') || '(root)'}: ${e.message}`);
    throw new Error(`invalid identity config:\n${[...new Set(lines)].join('\n')}`);
  }
  return withDefaults as IdentityConfig;
}

/** The LDAP settings after the preset's defaults. */
export function ldapSettings(c: IdentityConfig) {
  const p = PRESETS[c.ldap.preset];
  return {
    userFilter: c.ldap.userFilter ?? p.userFilter,
    username: c.ldap.usernameAttribute ?? p.username,
    email: c.ldap.emailAttribute ?? p.email,
    name: p.name,
    groupFilter: c.ldap.groupFilter ?? p.groupFilter,
    groupName: c.ldap.groupNameAttribute ?? p.groupName,
  };
}

/**
 * Dex's config for this identity (pure). `bindPassword` is an environment reference so the
 * secret stays in a Secret; `web` is where Dex serves, `clientSecret` the API server client's.
 */
export function renderDexConfig(
  c: IdentityConfig,
  opts: {
    web: { https: string; tlsCert: string; tlsKey: string };
    clientSecretEnv: string;
    bindPasswordEnv: string;
    /** Where Dex keeps sessions and keys: Kubernetes CRDs in a cluster (replicas share them). Default: memory. */
    storage?: 'memory' | 'kubernetes';
  },
): Record<string, unknown> {
  const s = ldapSettings(c);
  const url = new URL(c.ldap.url);
  const tls = url.protocol === 'ldaps:' || c.ldap.startTLS;
  return {
    issuer: c.issuer,
    storage: opts.storage === 'kubernetes' ? { type: 'kubernetes', config: { inCluster: true } } : { type: 'memory' },
    web: opts.web,
    oauth2: { skipApprovalScreen: true, passwordConnector: 'ldap', responseTypes: ['code'] },
    expiry: { idTokens: '1h' },
    connectors: [
      {
        type: 'ldap',
        id: 'ldap',
        name: c.ldap.preset === 'activedirectory' ? 'Active Directory' : 'OpenLDAP',
        config: {
          host: url.host,
          ...(tls ? {} : { insecureNoSSL: true }),
          ...(c.ldap.startTLS ? { startTLS: true } : {}),
          ...(c.ldap.caFile ? { rootCA: c.ldap.caFile } : {}),
          bindDN: c.ldap.bindDN,
          bindPW: `$${opts.bindPasswordEnv}`,
          usernamePrompt: 'Username',
          userSearch: {
            baseDN: c.ldap.userBaseDN,
            filter: s.userFilter,
            username: s.username,
            idAttr: 'DN',
            emailAttr: s.email,
            nameAttr: s.name,
          },
          groupSearch: {
            baseDN: c.ldap.groupBaseDN,
            filter: s.groupFilter,
            userMatchers: [
              { userAttr: 'DN', groupAttr: 'member', ...(c.ldap.nestedGroups ? { recursionGroupAttr: 'member' } : {}) },
            ],
            nameAttr: s.groupName,
          },
        },
      },
    ],
    staticClients: [
      { id: c.clientId, name: 'Kubernetes', secretEnv: opts.clientSecretEnv, redirectURIs: ['http://localhost:8000'] },
    ],
  };
}

/** The API server's AuthenticationConfiguration trusting Dex (pure). */
export function renderAuthenticationConfiguration(c: IdentityConfig, issuerCA?: string): Record<string, unknown> {
  return {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AuthenticationConfiguration',
    jwt: [
      {
        issuer: { url: c.issuer, audiences: [c.clientId], ...(issuerCA ? { certificateAuthority: issuerCA } : {}) },
        claimMappings: {
          username: { claim: 'email', prefix: c.usernamePrefix },
          groups: { claim: 'groups', prefix: c.groupsPrefix },
        },
        claimValidationRules: [{ expression: 'claims.email_verified == true', message: 'the email must be verified' }],
      },
    ],
  };
}

/** A directory misconfiguration or refusal, with what to fix. */
export class IdentityError extends Error {
  readonly code: 'unreachable' | 'tls' | 'bind' | 'base' | 'no-user' | 'password' | 'search';
  constructor(code: IdentityError['code'], message: string) {
    super(message);
    this.name = 'IdentityError';
    this.code = code;
  }
}

export interface DirectoryUser {
  dn: string;
  username: string;
  email?: string;
  /** Every group, direct first, then nested ones with the group they come through. */
  groups: { name: string; dn: string; via?: string }[];
}

const attr = (v: unknown): string | undefined =>
  Array.isArray(v) ? String(v[0] ?? '') : v == null ? undefined : String(v);

/** Binds as the service account, finds the user, and resolves their groups as Dex will. */
export async function lookupUser(c: IdentityConfig, username: string, password?: string): Promise<DirectoryUser> {
  const url = new URL(c.ldap.url);
  const tlsOptions = {
    ...(c.ldap.caFile ? { ca: readFileSync(c.ldap.caFile) } : {}),
    ...(isIP(url.hostname) ? {} : { servername: url.hostname }),
  };
  const client = new Client({
    url: c.ldap.url,
    connectTimeout: 5000,
    timeout: 10_000,
    ...(url.protocol === 'ldaps:' ? { tlsOptions } : {}),
  });
  const s = ldapSettings(c);
  try {
    try {
      if (c.ldap.startTLS) await client.startTLS(tlsOptions);
      await client.bind(c.ldap.bindDN, readFileSync(c.ldap.bindPasswordFile, 'utf8').trim());
    } catch (e) {
      throw directoryError(e, c);
    }
    const search = async (base: string, filter: Filter, attributes: string[], what: 'user' | 'group') => {
      try {
        return (await client.search(base, { scope: 'sub', filter, attributes })).searchEntries;
      } catch (e) {
        if (e instanceof NoSuchObjectError) {
          throw new IdentityError(
            'base',
            `the ${what} base DN "${base}" does not exist in the directory (ldap.${what}BaseDN)`,
          );
        }
        throw new IdentityError('search', `searching ${base} failed: ${(e as Error).message}`);
      }
    };
    const users = await search(
      c.ldap.userBaseDN,
      new AndFilter({
        filters: [
          FilterParser.parseString(s.userFilter),
          new EqualityFilter({ attribute: s.username, value: username }),
        ],
      }),
      [s.username, s.email],
      'user',
    );
    if (users.length !== 1) {
      throw new IdentityError(
        'no-user',
        users.length
          ? `${users.length} entries match ${s.username}=${username} under ${c.ldap.userBaseDN}; the user filter must find one`
          : `no user with ${s.username}=${username} under ${c.ldap.userBaseDN} matching ${s.userFilter}`,
      );
    }
    const entry = users[0] as (typeof users)[number];
    if (password !== undefined) {
      const check = new Client({
        url: c.ldap.url,
        connectTimeout: 5000,
        ...(url.protocol === 'ldaps:' ? { tlsOptions } : {}),
      });
      try {
        if (c.ldap.startTLS) await check.startTLS(tlsOptions);
        await check.bind(entry.dn, password);
      } catch (e) {
        if (e instanceof InvalidCredentialsError) {
          throw new IdentityError('password', `the directory refused the password for ${entry.dn}`);
        }
        throw directoryError(e, c);
      } finally {
        await check.unbind().catch(() => {});
      }
    }
    const groups: DirectoryUser['groups'] = [];
    const seen = new Set<string>();
    let frontier: { dn: string; name?: string }[] = [{ dn: entry.dn }];
    while (frontier.length) {
      const next: typeof frontier = [];
      for (const member of frontier) {
        const found = await search(
          c.ldap.groupBaseDN,
          new AndFilter({
            filters: [
              FilterParser.parseString(s.groupFilter),
              new EqualityFilter({ attribute: 'member', value: member.dn }),
            ],
          }),
          [s.groupName],
          'group',
        );
        for (const g of found) {
          if (seen.has(g.dn.toLowerCase())) continue;
          seen.add(g.dn.toLowerCase());
          const name = attr(g[s.groupName]) ?? g.dn;
          groups.push({ name, dn: g.dn, ...(member.name ? { via: member.name } : {}) });
          next.push({ dn: g.dn, name });
        }
      }
      frontier = c.ldap.nestedGroups ? next : [];
    }
    const email = attr(entry[s.email]);
    return { dn: entry.dn, username: attr(entry[s.username]) ?? username, ...(email ? { email } : {}), groups };
  } finally {
    await client.unbind().catch(() => {});
  }
}

function directoryError(e: unknown, c: IdentityConfig): IdentityError {
  const err = e as Error & { code?: string | number };
  if (e instanceof InvalidDNSyntaxError) {
    return new IdentityError(
      'bind',
      `ldap.bindDN "${c.ldap.bindDN}" is not a valid DN (e.g. cn=reader,ou=services,dc=example,dc=com)`,
    );
  }
  if (e instanceof InvalidCredentialsError) {
    return new IdentityError(
      'bind',
      `the directory refused ldap.bindDN "${c.ldap.bindDN}" with the password in ${c.ldap.bindPasswordFile}`,
    );
  }
  const chain = `${err.message} ${String((err as { cause?: Error }).cause?.message ?? '')}`;
  if (
    /certificate|self[- ]signed|TLS|SSL|altnames|Hostname\/IP/i.test(chain) ||
    /^ERR_TLS|CERT/.test(String(err.code ?? ''))
  ) {
    return new IdentityError(
      'tls',
      `TLS to ${c.ldap.url} failed: ${err.message} (check ldap.caFile${c.ldap.caFile ? ` = ${c.ldap.caFile}` : ''} and that the certificate names ${new URL(c.ldap.url).hostname})`,
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|timeout/i.test(chain)) {
    return new IdentityError('unreachable', `cannot reach the directory at ${c.ldap.url}: ${err.message}`);
  }
  return new IdentityError('bind', `binding to ${c.ldap.url} failed: ${err.message}`);
}

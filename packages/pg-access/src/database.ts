// The Database kind in the planner's terms, shared by the operator (which applies it) and
// `plinth db plan` (which shows what applying it would do): the server it reaches, the names
// it gives the physical database and its owner role, and its declaration. Secrets are read
// through the reader the caller passes (the operator's cache, or the API server for the CLI).
import { createHash } from 'node:crypto';
import { DatabaseKind, type DatabaseObject } from '@plinth/api';
import pg from 'pg';
import { planFor, shownSql } from './apply.ts';
import type { Declaration, PlanStep } from './types.ts';

/** Label and annotation of a Secret in the platform namespace that offers a server to tenants. */
export const SERVER_LABEL = 'plinth.dev/database-server';
export const SERVER_NAMESPACES = 'plinth.dev/database-namespaces';
/** A physical database's comment (and its owner role's) names the Database that owns it. */
export const DATABASE_MARKER = 'plinth:database:';

/** What this module reads of a Secret. */
export interface SecretData {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
}
/** Reads a Secret by namespace and name; undefined when there is none. */
export type SecretSource = (
  namespace: string,
  name: string,
) => Promise<SecretData | undefined> | SecretData | undefined;

/** The Database's server cannot be reached as declared: a missing or unusable Secret. */
export class ConnectionSecretError extends Error {}

export interface ConnectionInfo {
  host: string;
  port: number;
  username: string;
  password: string;
  /** PEM CA to verify the server with; undefined means the system CAs (or no TLS with sslmode=disable). */
  ca?: string;
  sslDisabled: boolean;
}

/**
 * The settings the operator and `plinth db plan` read alike: the namespace platform servers
 * live in (PLINTH_NAMESPACE, default plinth-system) and the PostgreSQL roles outside a
 * Database that its roles may join (PLINTH_PG_GRANTABLE_ROLES, comma-separated; default none).
 */
export function databaseSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  platformNamespace: string;
  grantableRoles: string[];
} {
  return {
    platformNamespace: env.PLINTH_NAMESPACE ?? 'plinth-system',
    grantableRoles: (env.PLINTH_PG_GRANTABLE_ROLES ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  };
}

/**
 * The server a Database reaches: a platform server it is allowed to use, or its own
 * connection Secret. `platformNamespace` is where platform servers live.
 */
export async function connectionInfo(
  secretOf: SecretSource,
  d: DatabaseObject,
  platformNamespace: string,
): Promise<ConnectionInfo> {
  const ns = d.metadata.namespace ?? 'default';
  const platform = d.spec.serverRef !== undefined;
  const where = platform ? platformNamespace : ns;
  const ref = d.spec.serverRef?.name ?? d.spec.connectionSecretRef?.name ?? '';
  const secret = await secretOf(where, ref);
  if (platform) {
    const allowed = (secret?.metadata?.annotations?.[SERVER_NAMESPACES] ?? '').split(',').map((x) => x.trim());
    if (secret?.metadata?.labels?.[SERVER_LABEL] !== 'true') {
      throw new ConnectionSecretError(`serverRef: the platform offers no database server named ${ref}`);
    }
    if (!allowed.includes('*') && !allowed.includes(ns)) {
      throw new ConnectionSecretError(`serverRef: database server ${ref} is not offered to namespace ${ns}`);
    }
  }
  const get = (k: string) => (secret?.data?.[k] ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
  const host = get('host');
  const username = get('username');
  const password = get('password');
  if (!secret || !host || !username || !password) {
    throw new ConnectionSecretError(
      platform
        ? `serverRef: database server ${ref} lacks host, username or password (ask the platform team)`
        : `connection Secret ${ns}/${ref} is missing or lacks host, username or password`,
    );
  }
  const ca = get('ca.crt');
  return {
    host,
    port: Number(get('port') ?? 5432),
    username,
    password,
    ...(ca ? { ca } : {}),
    sslDisabled: get('sslmode') === 'disable',
  };
}

/** Opens a connection to `database` on the Database's server. */
export async function openConnection(
  secretOf: SecretSource,
  d: DatabaseObject,
  database: string,
  platformNamespace: string,
): Promise<pg.Client> {
  const c = await connectionInfo(secretOf, d, platformNamespace);
  const db = new pg.Client({
    host: c.host,
    port: c.port,
    user: c.username,
    password: c.password,
    database,
    // Names resolve in pg_catalog only: tenants can create functions and operators in their
    // databases, and this connection is the server's most privileged role.
    options: '-c search_path=pg_catalog,pg_temp',
    ssl: c.ca ? { ca: c.ca } : c.sslDisabled ? false : { rejectUnauthorized: true },
    connectionTimeoutMillis: 10_000,
  });
  await db.connect();
  return db;
}

/** The Secret holding a login role's generated password. */
export const credentialsSecretName = (d: DatabaseObject, role: string) =>
  `${d.metadata.name}-${role.replace(/_/g, '-')}`;

/** The physical database's name: spec.databaseName, or metadata.name with - as _. */
export const databaseName = (d: DatabaseObject) => d.spec.databaseName ?? (d.metadata.name ?? '').replace(/-/g, '_');
/** `namespace/name`: who owns the roles of a Database's plan. */
export const databaseOwner = (d: DatabaseObject) => `${d.metadata.namespace}/${d.metadata.name}`;
/** The Database's owner role: NOLOGIN, owns the physical database, acts for its roles. */
export const ownerRoleOf = (d: DatabaseObject) =>
  `plinth_${createHash('sha256').update(databaseOwner(d)).digest('hex').slice(0, 20)}`;

/** The planner's declaration for a Database; `password` gives login roles their passwords. */
export function declarationFor(d: DatabaseObject, password: (role: string) => string | undefined): Declaration {
  const spec = DatabaseKind.withDefaults(d.spec);
  return {
    steward: ownerRoleOf(d),
    roles: spec.roles.map((r) => {
      const pw = r.login ? password(r.name) : undefined;
      return {
        name: r.name,
        login: r.login,
        inherit: r.inherit,
        ...(pw !== undefined ? { password: pw } : {}),
        ...(r.memberOf ? { memberOf: r.memberOf } : {}),
      };
    }),
    // PUBLIC may not connect (the operator revokes it): the Database's login roles may.
    database: [
      ...(spec.databasePrivileges ?? []),
      ...spec.roles.filter((r) => r.login).map((r) => ({ role: r.name, privileges: ['CONNECT' as const] })),
    ],
    schemas: spec.schemaPrivileges,
    tables: spec.tablePrivileges,
    sequences: spec.sequencePrivileges,
    functions: spec.functionPrivileges,
    defaultPrivileges: spec.defaultPrivileges,
    rowSecurity: spec.rowSecurity,
    policies: spec.policies,
  };
}

/** What applying the Database now would do (read-only; for `plinth db plan`), secrets masked. */
export async function planDatabase(
  secretOf: SecretSource,
  d: DatabaseObject,
  platformNamespace: string,
  grantable: readonly string[] = [],
): Promise<PlanStep[]> {
  const db = await openConnection(secretOf, d, databaseName(d), platformNamespace);
  try {
    return (
      await planFor(
        db,
        declarationFor(d, () => '***'),
        databaseOwner(d),
        { grantable },
      )
    ).map((s) => ({ ...s, sql: shownSql(s) }));
  } finally {
    await db.end();
  }
}

// The Database reconcile: connect through the connection Secret, create the database, its
// extensions and schemas if missing (never drop), give every login role a generated password
// in a Secret of its own, and converge roles and privileges with the pg-access planner in one
// transaction. A destructive plan waits for allowDestructive. A finalizer revokes everything
// this Database granted and drops its roles on delete; the database and its data stay.
import { randomBytes } from 'node:crypto';
import { DatabaseKind, type DatabaseObject } from '@plinth/api';
import {
  hasFinalizer,
  type KubeClient,
  type KubeObject,
  ownerReference,
  type ReconcileContext,
  type ReconcileFailure,
  Resources,
  RetryAfterError,
  resourceOf,
  setFinalizer,
  TerminalError,
} from '@plinth/kube';
import { applyDeclaration, type Declaration, DestructivePlanError, type PlanStep, planFor } from '@plinth/pg-access';
import pg from 'pg';
import type { OperatorConfig } from '../config.ts';
import { type SecretObject, statusWriter, withConditions } from '../status.ts';

export const DatabaseType = resourceOf(DatabaseKind);
const FINALIZER = 'plinth.dev/database-access';

/** SQL for status: passwords never leave the database. */
export const redact = (sql: string) => sql.replace(/PASSWORD '(?:[^']|'')*'/g, "PASSWORD '***'");

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

/** The server a Database reaches, from its connection Secret. */
export async function connectionInfo(client: KubeClient, d: DatabaseObject): Promise<ConnectionInfo> {
  const ns = d.metadata.namespace ?? 'default';
  const ref = d.spec.connectionSecretRef.name;
  const secret = await client.get<SecretObject>(Resources.Secret, { namespace: ns, name: ref });
  const get = (k: string) => (secret?.data?.[k] ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
  const host = get('host');
  const username = get('username');
  const password = get('password');
  if (!secret || !host || !username || !password) {
    throw new ConnectionSecretError(`connection Secret ${ns}/${ref} is missing or lacks host, username or password`);
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

/** Opens a connection to `database` with the Database's connection Secret. */
export async function openConnection(client: KubeClient, d: DatabaseObject, database: string): Promise<pg.Client> {
  const c = await connectionInfo(client, d);
  const db = new pg.Client({
    host: c.host,
    port: c.port,
    user: c.username,
    password: c.password,
    database,
    ssl: c.ca ? { ca: c.ca } : c.sslDisabled ? false : { rejectUnauthorized: true },
    connectionTimeoutMillis: 10_000,
  });
  await db.connect();
  return db;
}

/** The Secret holding a login role's generated password. */
export const credentialsSecretName = (d: DatabaseObject, role: string) =>
  `${d.metadata.name}-${role.replace(/_/g, '-')}`;

export const databaseName = (d: DatabaseObject) => d.spec.databaseName ?? (d.metadata.name ?? '').replace(/-/g, '_');
const ownerOf = (d: DatabaseObject) => `${d.metadata.namespace}/${d.metadata.name}`;

/** The planner's declaration for a Database; `password` gives login roles their passwords. */
export function declarationFor(d: DatabaseObject, password: (role: string) => string | undefined): Declaration {
  const spec = DatabaseKind.withDefaults(d.spec);
  return {
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
    database: spec.databasePrivileges,
    schemas: spec.schemaPrivileges,
    tables: spec.tablePrivileges,
    sequences: spec.sequencePrivileges,
    functions: spec.functionPrivileges,
    defaultPrivileges: spec.defaultPrivileges,
    rowSecurity: spec.rowSecurity,
    policies: spec.policies,
  };
}

/** What applying the Database now would do (read-only; for `plinth db plan`), secrets redacted. */
export async function planDatabase(client: KubeClient, d: DatabaseObject): Promise<PlanStep[]> {
  const db = await openConnection(client, d, databaseName(d));
  try {
    return (
      await planFor(
        db,
        declarationFor(d, () => '***'),
        ownerOf(d),
      )
    ).map((s) => ({ ...s, sql: redact(s.sql) }));
  } finally {
    await db.end();
  }
}

export function databaseReconciler(deps: { client: KubeClient; config: OperatorConfig }) {
  const { client, config } = deps;
  type Status = NonNullable<DatabaseObject['status']>;
  const writeStatus = statusWriter<Status>(client, DatabaseType, DatabaseKind.apiVersion, config.fieldManager);

  async function connectionOf(d: DatabaseObject, database: string): Promise<pg.Client> {
    try {
      return await openConnection(client, d, database);
    } catch (e) {
      if (!(e instanceof ConnectionSecretError)) throw e;
      await writeStatus(d, {
        ...d.status,
        lastError: e.message,
        conditions: withConditions(d, [
          { type: 'Ready', status: 'False', reason: 'ConnectionSecretNotFound', message: e.message },
        ]),
      });
      throw new RetryAfterError(15_000, e.message);
    }
  }
  const owner = ownerOf;

  /** A login role's Secret, created with a generated password on first sight. */
  async function credentials(d: DatabaseObject, role: string): Promise<string> {
    const ns = d.metadata.namespace ?? 'default';
    const name = credentialsSecretName(d, role);
    const existing = await client.get<SecretObject>(Resources.Secret, { namespace: ns, name });
    const current = existing?.data?.password;
    if (current) return Buffer.from(current, 'base64').toString('utf8');
    const password = randomBytes(24).toString('base64url');
    await client.create(Resources.Secret, {
      metadata: {
        name,
        namespace: ns,
        labels: { 'plinth.dev/database': d.metadata.name ?? '' },
        ownerReferences: [ownerReference(d as KubeObject)],
      },
      type: 'Opaque',
      stringData: { username: role, password, database: databaseName(d) },
    } as KubeObject);
    return password;
  }

  async function reconcile(ctx: ReconcileContext<DatabaseObject>): Promise<void> {
    const d = ctx.object;
    if (!d) return;
    const spec = DatabaseKind.withDefaults(d.spec);
    if (d.metadata.deletionTimestamp) {
      if (!hasFinalizer(d as KubeObject, FINALIZER)) return;
      const db = await connectionOf(d, databaseName(d));
      try {
        await applyDeclaration(db, { roles: [] }, owner(d), { allowDestructive: spec.allowDestructive });
      } finally {
        await db.end();
      }
      await setFinalizer(client, DatabaseType, d as KubeObject, FINALIZER, false);
      return;
    }
    if (!hasFinalizer(d as KubeObject, FINALIZER)) {
      await setFinalizer(client, DatabaseType, d as KubeObject, FINALIZER, true);
      return; // the update brings us back
    }
    const name = databaseName(d);
    const server = await connectionOf(d, 'postgres');
    try {
      const exists = await server.query('select 1 from pg_database where datname = $1', [name]);
      if (!exists.rowCount) {
        await server.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
        ctx.log.info({ database: name }, 'created database');
      }
    } finally {
      await server.end();
    }
    const db = await connectionOf(d, name);
    try {
      for (const e of spec.extensions ?? []) await db.query(`CREATE EXTENSION IF NOT EXISTS ${pg.escapeIdentifier(e)}`);
      for (const s of spec.schemas ?? []) await db.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(s)}`);
      const passwords = new Map<string, string>();
      for (const r of spec.roles) if (r.login) passwords.set(r.name, await credentials(d, r.name));
      const decl = declarationFor(d, (name) => passwords.get(name));
      let steps: string[];
      try {
        steps = (await applyDeclaration(db, decl, owner(d), { allowDestructive: spec.allowDestructive })).map((s) =>
          redact(s.sql),
        );
      } catch (e) {
        if (!(e instanceof DestructivePlanError)) throw e;
        const message = `${e.steps.length} destructive step(s) refused; set spec.allowDestructive: true to apply them`;
        await writeStatus(d, {
          ...d.status,
          observedGeneration: d.metadata.generation,
          pendingPlan: e.steps.map((s) => `${redact(s.sql)} -- ${s.reason}`),
          lastError: message,
          conditions: withConditions(d, [
            { type: 'Ready', status: 'False', reason: 'DestructivePlanRefused', message },
          ]),
        });
        throw new TerminalError(message);
      }
      await writeStatus(d, {
        observedGeneration: d.metadata.generation,
        databaseName: name,
        lastAppliedPlan: steps.length ? steps : (d.status?.lastAppliedPlan ?? []),
        conditions: withConditions(d, [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Converged',
            message: steps.length ? `applied ${steps.length} step(s)` : 'in sync',
          },
          { type: 'Degraded', status: 'False', reason: 'AsExpected', message: '' },
        ]),
      });
    } finally {
      await db.end();
    }
  }

  async function onError(failure: ReconcileFailure, d: DatabaseObject | undefined): Promise<void> {
    if (!d || d.metadata.deletionTimestamp || failure.terminal) return; // terminal ones wrote their own status
    const message = failure.error instanceof Error ? failure.error.message : String(failure.error);
    await writeStatus(d, {
      ...d.status,
      lastError: message,
      conditions: withConditions(d, [
        { type: 'Ready', status: 'False', reason: 'ApplyFailed', message },
        {
          type: 'Degraded',
          status: 'True',
          reason: 'ApplyFailed',
          message: `${message} (retrying in ${failure.retryInMs} ms)`,
        },
      ]),
    });
  }

  return { reconcile, onError };
}

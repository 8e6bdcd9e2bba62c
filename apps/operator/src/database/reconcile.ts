// The Database reconcile. The server is reached through a platform server (serverRef: a
// labelled Secret in the platform namespace that tenants cannot read) or the team's own
// connection Secret. Each Database has an owner role (NOLOGIN, plinth_<hash>): it owns the
// physical database, which records its Database in its comment (so ownership survives the
// operator, and another Database naming it is refused), creates its schemas and trusted
// extensions, and applies grants, row security and policies as a member of this Database's
// roles only. Roles and memberships are made by the connecting role from names alone. Login
// roles get a generated password in a Secret of their own. A destructive plan waits for
// allowDestructive. A finalizer revokes everything and drops the roles on delete; the
// database, its owner role and its data stay (objects of dropped roles pass to the owner role).
import { randomBytes } from 'node:crypto';
import { DatabaseKind, type DatabaseObject } from '@plinth/api';
import {
  type Access,
  hasFinalizer,
  type KubeClient,
  type KubeObject,
  ownerReference,
  READ,
  type ReconcileContext,
  Resources,
  resourceOf,
  setFinalizer,
  TerminalError,
} from '@plinth/kube';
import {
  applyDeclaration,
  ConnectionSecretError,
  credentialsSecretName,
  DATABASE_MARKER,
  type Declaration,
  DeclarationError,
  DestructivePlanError,
  databaseName,
  databaseOwner,
  declarationFor,
  openConnection,
  ownerRoleOf,
  type PlanStep,
  runOne,
  shownSql,
} from '@plinth/pg-access';
import pg from 'pg';
import type { OperatorConfig } from '../config.ts';
import type { Caches } from '../function/reconcile.ts';
import { reporter, type SecretOf, statusWriter, withConditions } from '../status.ts';

export const DatabaseType = resourceOf(DatabaseKind);

/** What the Database reconcile reads and writes in Kubernetes (PostgreSQL is reached by its own roles). */
export const databaseAccess: Access[] = [
  { type: DatabaseType, verbs: [...READ, 'patch'] }, // the finalizer
  { type: DatabaseType, subresource: 'status', verbs: ['patch'] },
  { type: DatabaseType, subresource: 'finalizers', verbs: ['update'] }, // owner of the credentials Secrets
  // Connection Secrets (the Database's own, or a platform server's) and the generated credentials.
  { type: Resources.Secret, verbs: [...READ, 'create'] },
];
const FINALIZER = 'plinth.dev/database-access';

/** The comment that makes a physical database this Database's: its namespace, name and uid. */
const markerOf = (d: DatabaseObject) => `${DATABASE_MARKER}${databaseOwner(d)}/${d.metadata.uid ?? ''}`;

interface PhysicalDatabase {
  comment: string | null;
  template: boolean;
  owner: string;
}

/**
 * Whether `d` may use the physical database `name`: `ok` (new, or already its own), `claim`
 * (its own but not yet marked: made by it before a crash, or recorded in its status before
 * databases were marked and claimed by no other Database), or a refusal with its reason.
 */
function ownership(
  name: string,
  existing: PhysicalDatabase | undefined,
  d: DatabaseObject,
  claimedElsewhere: boolean,
): { ok: true; mark: boolean } | { ok: false; reason: string; message: string } {
  if (!existing) return { ok: true, mark: true };
  const mine = markerOf(d);
  if (name === 'postgres' || existing.template) {
    return {
      ok: false,
      reason: 'DatabaseOwnedElsewhere',
      message: `database ${name} is the server's own and cannot be used`,
    };
  }
  if (existing.comment === mine) return { ok: true, mark: false };
  if (existing.comment?.startsWith(DATABASE_MARKER)) {
    const holder = existing.comment.slice(DATABASE_MARKER.length);
    const sameName = holder.startsWith(`${databaseOwner(d)}/`);
    return {
      ok: false,
      reason: 'DatabaseOwnedElsewhere',
      message: sameName
        ? `database ${name} belongs to an earlier Database of this name (${holder}); to hand it over, a database administrator runs: COMMENT ON DATABASE ${pg.escapeIdentifier(name)} IS ${pg.escapeLiteral(mine)}`
        : `database ${name} belongs to Database ${holder.slice(0, holder.lastIndexOf('/'))}; choose another spec.databaseName`,
    };
  }
  if (existing.owner === ownerRoleOf(d)) return { ok: true, mark: true };
  if (existing.owner.startsWith('plinth_')) {
    return {
      ok: false,
      reason: 'DatabaseOwnedElsewhere',
      message: `database ${name} is being created by another Database (its owner role is ${existing.owner}); choose another spec.databaseName`,
    };
  }
  if (d.status?.databaseName === name && !claimedElsewhere) return { ok: true, mark: true };
  return {
    ok: false,
    reason: 'DatabaseNotAdopted',
    message: `database ${name} exists and belongs to no Database; to hand it over, a database administrator runs: COMMENT ON DATABASE ${pg.escapeIdentifier(name)} IS ${pg.escapeLiteral(mine)}`,
  };
}

export function databaseReconciler(deps: {
  client: KubeClient;
  config: OperatorConfig;
  caches: Caches;
  /** Secrets, also those of the platform's servers outside the operator's scope. */
  secretOf: SecretOf;
}) {
  const { client, config, secretOf } = deps;
  const databases = deps.caches<DatabaseObject & KubeObject>(DatabaseType);
  type Status = NonNullable<DatabaseObject['status']>;
  const writeStatus = statusWriter<Status>(client, DatabaseType, DatabaseKind.apiVersion, config.fieldManager);

  /** Ready=False with `reason`, and a terminal error: only a spec change (or the owner) fixes it. */
  const report = reporter<DatabaseObject, Status>({
    client,
    write: writeStatus,
    component: config.fieldManager,
    retryMs: 15_000,
    // A failed apply leaves the database part way: not Ready until one succeeds.
    notReadyOnError: 'ApplyFailed',
  });
  const refuse = report.refuse;

  async function connectionOf(d: DatabaseObject, database: string): Promise<pg.Client> {
    try {
      return await openConnection(secretOf, d, database, config.platformNamespace);
    } catch (e) {
      if (!(e instanceof ConnectionSecretError)) throw e;
      return report.waiting(d, 'ConnectionSecretNotFound', e.message);
    }
  }
  const owner = databaseOwner;

  /** A login role's Secret, created with a generated password on first sight. */
  async function credentials(d: DatabaseObject, role: string): Promise<string> {
    const ns = d.metadata.namespace ?? 'default';
    const name = credentialsSecretName(d, role);
    const existing = await secretOf(ns, name);
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

  /**
   * On the server: the owner role exists, and the physical database exists, is owned by it,
   * names this Database in its comment, and is closed to PUBLIC (only the Database's login
   * roles connect). A database another Database owns, or one that belongs to none, is refused.
   */
  async function claimDatabase(d: DatabaseObject, name: string, ownerRole: string): Promise<void> {
    const server = await connectionOf(d, 'postgres');
    try {
      const role = pg.escapeIdentifier(ownerRole);
      const db = pg.escapeIdentifier(name);
      const known = await server.query('select 1 from pg_roles where rolname = $1', [ownerRole]);
      if (!known.rowCount) {
        await runOne(server, `CREATE ROLE ${role} NOLOGIN`);
        await runOne(server, `COMMENT ON ROLE ${role} IS ${pg.escapeLiteral(`${DATABASE_MARKER}${owner(d)}`)}`);
      }
      const read = async () =>
        (
          await server.query<PhysicalDatabase>(
            `select shobj_description(oid, 'pg_database') as comment, datistemplate as template,
                    pg_get_userbyid(datdba) as owner
               from pg_database where datname = $1`,
            [name],
          )
        ).rows[0];
      /** Another Database's status names it too (databases made before they were marked). */
      const claimedElsewhere = async () =>
        databases.list().some((o) => o.status?.databaseName === name && o.metadata.uid !== d.metadata.uid);
      let existing = await read();
      let verdict = ownership(name, existing, d, existing && !existing.comment ? await claimedElsewhere() : false);
      if (!verdict.ok) return refuse(d, verdict.reason, verdict.message);
      if (!existing) {
        try {
          await runOne(server, `CREATE DATABASE ${db} OWNER ${role}`);
        } catch (e) {
          if ((e as { code?: string }).code !== '42P04') throw e;
          // Another Database created it first.
          existing = await read();
          verdict = ownership(name, existing, d, true);
          if (!verdict.ok) return refuse(d, verdict.reason, verdict.message);
        }
      }
      if (verdict.mark) await runOne(server, `COMMENT ON DATABASE ${db} IS ${pg.escapeLiteral(markerOf(d))}`);
      if (existing && existing.owner !== ownerRole) await runOne(server, `ALTER DATABASE ${db} OWNER TO ${role}`);
      await runOne(server, `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    } finally {
      await server.end();
    }
  }

  /** Schemas and extensions, made by the owner role: only trusted extensions are allowed. */
  async function createObjects(db: pg.Client, d: DatabaseObject, ownerRole: string): Promise<void> {
    const spec = DatabaseKind.withDefaults(d.spec);
    await db.query('BEGIN');
    try {
      await db.query(`SET LOCAL ROLE ${pg.escapeIdentifier(ownerRole)}`);
      for (const e of spec.extensions ?? []) {
        try {
          await runOne(db, `CREATE EXTENSION IF NOT EXISTS ${pg.escapeIdentifier(e)} SCHEMA public`);
        } catch (err) {
          const code = (err as { code?: string }).code;
          await db.query('ROLLBACK');
          if (code === '42501' || code === '0A000' || code === '58P01') {
            await refuse(
              d,
              'ExtensionNotAllowed',
              `extensions: ${e} cannot be created: ${(err as Error).message} (only trusted extensions are allowed; ask the platform team for others)`,
            );
          }
          throw err;
        }
      }
      for (const s of spec.schemas ?? []) await runOne(db, `CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(s)}`);
      await db.query('COMMIT');
    } catch (e) {
      if (!(e instanceof TerminalError)) await db.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async function apply(
    d: DatabaseObject,
    db: pg.Client,
    decl: Declaration,
    allowDestructive: boolean,
  ): Promise<PlanStep[]> {
    try {
      return await applyDeclaration(db, decl, owner(d), { allowDestructive, grantable: config.grantableRoles });
    } catch (e) {
      if (e instanceof DeclarationError) return refuse(d, 'NotAllowed', e.message);
      if ((e as { code?: string }).code === '42501') {
        // Run as the owner role, a grant on an object none of this Database's roles owns fails.
        throw new Error(
          `${(e as Error).message}: the owner role ${decl.steward} acts only for objects owned by this Database's roles`,
        );
      }
      throw e;
    }
  }

  async function reconcile(ctx: ReconcileContext<DatabaseObject>): Promise<void> {
    const d = ctx.object;
    if (!d) return;
    const spec = DatabaseKind.withDefaults(d.spec);
    const ownerRole = ownerRoleOf(d);
    const name = databaseName(d);
    if (d.metadata.deletionTimestamp) {
      if (!hasFinalizer(d as KubeObject, FINALIZER)) return;
      if (d.status?.databaseName === name) {
        // Only a database this Database claimed holds anything of it.
        const db = await connectionOf(d, name);
        try {
          // Nothing is lost: objects of dropped roles stay, owned by the owner role.
          await apply(d, db, { roles: [], steward: ownerRole }, true);
        } finally {
          await db.end();
        }
      }
      await setFinalizer(client, DatabaseType, d as KubeObject, FINALIZER, false);
      return;
    }
    if (!hasFinalizer(d as KubeObject, FINALIZER)) {
      await setFinalizer(client, DatabaseType, d as KubeObject, FINALIZER, true);
      return; // the update brings us back
    }
    await claimDatabase(d, name, ownerRole);
    const db = await connectionOf(d, name);
    try {
      await createObjects(db, d, ownerRole);
      const passwords = new Map<string, string>();
      for (const r of spec.roles) if (r.login) passwords.set(r.name, await credentials(d, r.name));
      const decl = declarationFor(d, (name) => passwords.get(name));
      let steps: string[];
      try {
        steps = (await apply(d, db, decl, spec.allowDestructive)).map(shownSql);
      } catch (e) {
        if (!(e instanceof DestructivePlanError)) throw e;
        const message = `${e.steps.length} destructive step(s) refused; set spec.allowDestructive: true to apply them`;
        await writeStatus(d, {
          ...d.status,
          observedGeneration: d.metadata.generation,
          pendingPlan: e.steps.map((s) => `${shownSql(s)} -- ${s.reason}`),
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
        ownerRole,
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

  const { onError } = report;

  return { reconcile, onError };
}

// The operator as the controller tests and the e2e suites run it (`@plinth/operator/testing`):
// in this process, against the ground's API server, as its own ServiceAccount, watching one
// namespace, its CRDs installed, the autoscaler idle unless a test drives it.
import { after, before } from 'node:test';
import { DatabaseKind, plinthKinds } from '@plinth/api';
import { eventually, ground, groundPg, groundPgSecretData, requireGround, uniqueName } from '@plinth/ground';
import { ensureCrd, getCondition, isForbidden, KubeClient, type KubeObject, Resources, resourceOf } from '@plinth/kube';
import { DATABASE_MARKER } from '@plinth/pg-access';
import { operatorRules } from '@plinth/platform';
import pg from 'pg';
import { build, configFromEnv, type Operator, type OperatorDeps } from '../src/app.ts';

export interface OperatorUnderTest {
  /** The ground's admin, for the test's own requests. */
  client: KubeClient;
  /** The operator's own identity: a ServiceAccount bound to the ClusterRole `plinth up` installs. */
  operatorClient: KubeClient;
  /** The namespace the operator watches. */
  ns: string;
  operator: Operator;
  /**
   * Settles once the operator runs. node:test starts a file's top-level `before` hooks at once,
   * side by side: a file's own set-up awaits this first.
   */
  ready: Promise<void>;
}

export interface OperatorOptions {
  /** The operator's environment (configFromEnv); a function when it needs the ground to read. */
  env?: Record<string, string> | (() => Record<string, string>);
  /** The rest of its deps: where in-flight counts come from, the clock, the resync period. */
  deps?: Partial<Omit<OperatorDeps, 'client' | 'config' | 'namespace'>>;
  /** Watch this namespace, which the test does not make here (a Tenant makes it). Default: a fresh one. */
  namespace?: string;
  /** Runs first in `after`, while the operator still runs: deletes what its finalizers hold. */
  beforeStop?: () => Promise<void>;
}

/**
 * Registers before/after hooks that start an operator for this test file and stop it (and
 * delete its namespace) afterwards. Several calls start several operators, one per namespace.
 * The returned object is filled in once `ready` has settled.
 */
export function useOperator(prefix: string, options: OperatorOptions = {}): OperatorUnderTest {
  const t = {} as OperatorUnderTest;
  const start = async () => {
    await requireGround('kubernetes');
    t.client = KubeClient.load(ground('KUBECONFIG'));
    for (const kind of plinthKinds) await ensureCrd(t.client, kind.crd(), { fieldManager: 'plinth-test' });
    t.ns = options.namespace ?? uniqueName(prefix);
    if (!options.namespace) await t.client.create(Resources.Namespace, { metadata: { name: t.ns } });
    t.operatorClient = await operatorIdentity(t.client, t.ns);
    t.operator = build({
      client: t.operatorClient,
      config: configFromEnv(typeof options.env === 'function' ? options.env() : (options.env ?? {})),
      namespace: t.ns,
      concurrency: async () => new Map(),
      autoscaleIntervalMs: 3_600_000,
      ...options.deps,
    });
    await t.operator.start();
  };
  const started = Promise.withResolvers<void>();
  started.promise.catch(() => {}); // the hook reports the failure; awaiting `ready` is optional
  t.ready = started.promise;
  before(() =>
    start().then(started.resolve, (e: unknown) => {
      started.reject(e);
      throw e;
    }),
  );
  after(async () => {
    try {
      if (t.operator) await options.beforeStop?.();
    } finally {
      await t.operator?.stop();
      if (t.ns) {
        await t.client.delete(Resources.Namespace, { name: t.ns });
        await t.client.delete(Resources.ClusterRoleBinding, { name: identityName(t.ns) });
        await t.client.delete(Resources.ClusterRole, { name: identityName(t.ns) });
      }
    }
  });
  return t;
}

const identityName = (ns: string) => `plinth-operator-test-${ns}`;

/**
 * The operator as it runs in a cluster, as far as the API server can tell: the ServiceAccount
 * `plinth-operator` (of the test's namespace, so test files never share one), bound to a
 * ClusterRole with exactly the rules `plinth up` and the chart install (generated from what the
 * reconciles declare). The tests act as it by impersonation, so a reconcile that calls anything
 * the rules leave out fails with 403 here.
 */
export async function operatorIdentity(admin: KubeClient, ns: string): Promise<KubeClient> {
  const name = identityName(ns);
  const manager = { fieldManager: 'plinth-test' };
  await admin.apply(Resources.ClusterRole, { metadata: { name }, rules: operatorRules } as KubeObject, manager);
  await admin.apply(
    Resources.ClusterRoleBinding,
    {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: 'plinth-operator', namespace: ns }],
    } as KubeObject,
    manager,
  );
  const client = admin.impersonate(`system:serviceaccount:${ns}:plinth-operator`, [
    'system:serviceaccounts',
    `system:serviceaccounts:${ns}`,
    'system:authenticated',
  ]);
  // The authorizer picks a new binding up from its watch within moments.
  await eventually(
    'the operator ClusterRole in effect',
    async () => {
      try {
        await client.list(Resources.Deployment, { namespace: ns });
        return true;
      } catch (e) {
        if (isForbidden(e)) return false;
        throw e;
      }
    },
    10_000,
  );
  return client;
}

/**
 * A Database `notes` in the operator's namespace, on the ground's PostgreSQL: schema `app`, a
 * role `app` with USAGE on it, a login `auth` that is a member of it (NOINHERIT, as a GraphQL
 * authenticator). Names are unique to this run; an after hook drops what PostgreSQL kept.
 */
export function useNotesDatabase(t: OperatorUnderTest) {
  const run = Math.random().toString(36).slice(2, 7);
  const dbName = `notes_${run}`;
  const role = (n: string) => `q${run}_${n}`;
  const type = resourceOf(DatabaseKind);
  after(async () => {
    // A test that failed before delete() leaves the Database holding the stopped operator's
    // finalizer: release it so the namespace can go (PostgreSQL's side is dropped below).
    const ref = { namespace: t.ns, name: 'notes' };
    if (t.ns && (await t.client.get(type, ref)))
      await t.client.mergePatch(type, ref, { metadata: { finalizers: null } });
    const admin = new pg.Client(groundPg('postgres'));
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    for (const n of ['app', 'auth']) await admin.query(`DROP ROLE IF EXISTS ${role(n)}`);
    const owners = await admin.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE $1`,
      [`${DATABASE_MARKER}${t.ns}/%`],
    );
    for (const r of owners.rows) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r.rolname)}`);
    await admin.end();
  });
  return {
    dbName,
    role,
    /** Creates it (and its connection Secret `pg-admin`) and waits for Ready. */
    async create(): Promise<void> {
      await requireGround('postgres');
      await t.client.create(Resources.Secret, {
        metadata: { name: 'pg-admin', namespace: t.ns },
        stringData: groundPgSecretData(),
      } as KubeObject);
      await t.client.create(type, {
        apiVersion: DatabaseKind.apiVersion,
        kind: DatabaseKind.kind,
        metadata: { name: 'notes', namespace: t.ns },
        spec: {
          connectionSecretRef: { name: 'pg-admin' },
          databaseName: dbName,
          schemas: ['app'],
          roles: [{ name: role('app') }, { name: role('auth'), login: true, inherit: false, memberOf: [role('app')] }],
          schemaPrivileges: [{ role: role('app'), schema: 'app', privileges: ['USAGE'] }],
        },
      } as KubeObject);
      await eventually(
        'the Database Ready',
        async () => {
          const d = await t.client.get<KubeObject & { status?: { conditions?: [] } }>(type, {
            namespace: t.ns,
            name: 'notes',
          });
          return getCondition(d?.status?.conditions, 'Ready')?.status === 'True';
        },
        60_000,
      );
    },
    /** Deletes it while the operator runs (its finalizer needs it) and waits until it is gone. */
    async delete(): Promise<void> {
      await t.client.delete(type, { namespace: t.ns, name: 'notes' });
      await eventually(
        'the Database gone',
        async () => !(await t.client.get(type, { namespace: t.ns, name: 'notes' })),
        60_000,
      );
    },
  };
}

// How each request reaches PostgreSQL. PostGraphile's pg adaptor wraps a request with settings
// in four round trips (BEGIN, set_config, the query, COMMIT). Here BEGIN and every setting go
// as one simple-protocol message (the settings inlined as one escaped JSON literal), and
// PostGraphile gets the client already inside that transaction (its nested transactions
// become savepoints). A query operation runs in a READ ONLY transaction whose COMMIT is
// pipelined: it is queued on the connection before it returns to the pool, so the next
// request's statements follow it, but the response does not wait for it; a read-only
// transaction has nothing to lose if that COMMIT fails. Mutations wait for their COMMIT.
import pg from 'pg';
import { makePgService, makeWithPgClientViaPgClientAlreadyInTransaction } from 'postgraphile/adaptors/pg';

type Service = ReturnType<typeof makePgService>;
type WithPgClient = ReturnType<typeof makeWithPgClientViaPgClientAlreadyInTransaction>;

const readOnly = new WeakSet<object>();
/** Marks a request's pgSettings as belonging to a query (not a mutation). */
export function markReadOnly(pgSettings: object): void {
  readOnly.add(pgSettings);
}

function withPgClientFor(pool: pg.Pool, onError: (e: Error) => void): WithPgClient {
  const withPgClient = (async (pgSettings, callback) => {
    const client = await pool.connect();
    let broken = false;
    try {
      const entries = Object.entries(pgSettings ?? {}).filter(([, v]) => v != null);
      if (!entries.length) return await makeWithPgClientViaPgClientAlreadyInTransaction(client, false)(null, callback);
      const ro = pgSettings !== null && readOnly.has(pgSettings);
      // SET LOCAL is a utility statement (no planning), cheaper than SELECT set_config(...).
      const sets = entries.map(([k, v]) =>
        k === 'role'
          ? `set local role ${pg.escapeIdentifier(String(v))}`
          : `set local ${pg.escapeIdentifier(k)} to ${pg.escapeLiteral(String(v))}`,
      );
      await client.query(`begin${ro ? ' read only' : ''}; ${sets.join('; ')}`);
      try {
        const result = await makeWithPgClientViaPgClientAlreadyInTransaction(client, true)(null, callback);
        if (ro) client.query('commit').catch(onError);
        else await client.query('commit');
        return result;
      } catch (e) {
        await client.query('rollback').catch(() => {
          broken = true; // never hand a connection in an unknown state back to the pool
        });
        throw e;
      }
    } finally {
      client.release(broken);
    }
  }) as WithPgClient;
  withPgClient.release = () => {};
  return withPgClient;
}

/** A pg service for PostGraphile whose requests go through withPgClientFor(pool). */
export function pgService(pool: pg.Pool, schemas: string[], onError: (e: Error) => void): Service {
  const service = makePgService({ pool, schemas, pubsub: false });
  const adaptor = service.adaptor;
  return {
    ...service,
    adaptor: {
      ...adaptor,
      createWithPgClient: (settings, variant) =>
        variant === 'SUPERUSER' ? adaptor.createWithPgClient(settings, variant) : withPgClientFor(pool, onError),
    },
  };
}

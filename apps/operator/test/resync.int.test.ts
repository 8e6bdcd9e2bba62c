// The periodic resync, on the ground's API server and PostgreSQL: a grant revoked by hand in
// PostgreSQL comes back within the resync period, with nobody touching the Database.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eventually, groundPg } from '@plinth/ground';
import pg from 'pg';
import { useNotesDatabase, useOperator } from './support.ts';

const RESYNC_MS = 2_000;
const t = useOperator('resync', { deps: { resyncMs: RESYNC_MS } });
const notes = useNotesDatabase(t);

it('repairs a grant revoked by hand in PostgreSQL within the resync period, with nobody touching the Database', async () => {
  await notes.create();
  const db = new pg.Client(groundPg(notes.dbName));
  await db.connect();
  try {
    const usage = async () =>
      (await db.query<{ ok: boolean }>(`SELECT has_schema_privilege($1, 'app', 'USAGE') AS ok`, [notes.role('app')]))
        .rows[0]?.ok;
    assert.equal(await usage(), true);
    await db.query(`REVOKE USAGE ON SCHEMA app FROM ${notes.role('app')}`);
    assert.equal(await usage(), false, 'revoked by hand');
    const t0 = Date.now();
    await eventually('the grant back', async () => (await usage()) === true, 5 * RESYNC_MS, 100);
    process.stdout.write(`# drift repaired ${Date.now() - t0} ms after the revoke (resync every ${RESYNC_MS} ms)\n`);
  } finally {
    await db.end();
  }
  await notes.delete();
});

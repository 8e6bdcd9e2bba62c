// Nothing lost on a crash: the connector process is killed with SIGKILL in the middle of a
// stream of numbered messages, then started again; every message must reach the function at
// least once. Duplicates (at-least-once redeliveries) are counted and reported.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { eventually, requireGround, uniqueName } from '@plinth/ground';
import { connectorConfig, functions, produce } from './support.ts';

const N = 1000;
const work = mkdtempSync(join(tmpdir(), 'plinth-crash-'));
const recordFile = join(work, 'record.log');
const main = join(import.meta.dirname, '..', 'src', 'main.ts');
let fns: Awaited<ReturnType<typeof functions>>;
const children: ChildProcess[] = [];

before(async () => {
  await requireGround('kafka');
  writeFileSync(recordFile, '');
  fns = await functions(join(work, 'cache'), { record: { RECORD_FILE: recordFile, PAUSE_MS: '6' } });
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await fns?.close();
});

const values = () =>
  readFileSync(recordFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split(' ')[1]));

function startConnector(configFile: string): ChildProcess {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PLINTH_CONNECTOR_CONFIG: configFile, PLINTH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

it('delivers every message at least once across a kill -9 of the connector', async () => {
  const topic = uniqueName('stream');
  await produce(
    topic,
    Array.from({ length: N }, (_, i) => ({ key: `k${i % 10}`, value: String(i) })),
  );
  const configFile = join(work, 'connector.json');
  writeFileSync(configFile, JSON.stringify(connectorConfig('crash', [topic], fns.url('record'), { concurrency: 4 })));

  const first = startConnector(configFile);
  await eventually('the first connector to deliver some messages', () => values().length >= 200, 60_000, 10);
  first.kill('SIGKILL');
  const atKill = values().length;
  await new Promise((r) => first.once('exit', r));

  startConnector(configFile);
  await eventually(`all ${N} messages delivered`, () => new Set(values()).size >= N, 120_000, 100);
  const got = values();
  const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !got.includes(i));
  assert.deepEqual(missing, [], 'no message may be lost');
  const duplicates = got.length - new Set(got).size;
  console.log(`# killed after ${atKill} deliveries; ${N} messages, ${got.length} deliveries, ${duplicates} duplicates`);
  assert.ok(duplicates < N, 'redelivery is bounded by what was uncommitted');
});

it('delivers every message at least once when a second connector joins the group mid-stream (rebalance)', async () => {
  writeFileSync(recordFile, '');
  const topic = uniqueName('rebalance');
  await produce(
    topic,
    Array.from({ length: N }, (_, i) => ({ key: `k${i % 10}`, value: String(i) })),
  );
  const configFile = join(work, 'rebalance.json');
  writeFileSync(
    configFile,
    JSON.stringify(connectorConfig('rebalance', [topic], fns.url('record'), { concurrency: 4 })),
  );
  startConnector(configFile);
  await eventually('the first connector to deliver some messages', () => values().length >= 150, 60_000, 10);
  const second = startConnector(configFile); // same group: partitions are shared out again
  await eventually(`all ${N} messages delivered`, () => new Set(values()).size >= N, 120_000, 100);
  const got = values();
  const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !got.includes(i));
  assert.deepEqual(missing, [], 'no message may be lost in a rebalance');
  console.log(`# rebalance: ${N} messages, ${got.length} deliveries, ${got.length - new Set(got).size} duplicates`);
  second.kill('SIGTERM');
});

// Two real processes contend for one Lease on the ground's API server; when the leader is
// killed with SIGKILL (no chance to release), the other takes over after the lease expires.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { eventually, ground } from '@plinth/ground';
import { type KubeObject, Resources } from '@plinth/kube';
import { useNamespace } from './support.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'contender.ts');
const space = useNamespace('lease');
const children: ChildProcess[] = [];

function contender(ns: string, identity: string): { proc: ChildProcess; output: () => string } {
  const proc = spawn(process.execPath, [fixture, ground('KUBECONFIG'), ns, 'election', identity], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  return { proc, output: () => out };
}

after(() => {
  for (const c of children) c.kill('SIGKILL');
});

it('hands the Lease to the second process when the leader is killed', async () => {
  const { client, name: ns } = await space();
  const a = contender(ns, 'alpha');
  await eventually('alpha to lead', () => a.output().includes('LEADING alpha'), 20_000);
  const b = contender(ns, 'beta');
  // beta campaigns but must not lead while alpha renews.
  await new Promise((r) => setTimeout(r, 2500));
  assert.ok(!b.output().includes('LEADING'), `beta led while alpha held the lease: ${b.output()}`);

  const killedAt = Date.now();
  a.proc.kill('SIGKILL');
  await eventually('beta to take over', () => b.output().includes('LEADING beta'), 20_000, 50);
  const takeoverMs = Date.now() - killedAt;
  console.log(`# lease takeover after SIGKILL: ${takeoverMs} ms (lease duration 4000 ms)`);
  assert.ok(takeoverMs >= 3000, `took over after ${takeoverMs} ms, before the lease could expire`);

  const lease = await client.get<KubeObject & { spec: { holderIdentity: string; leaseTransitions: number } }>(
    Resources.Lease,
    { namespace: ns, name: 'election' },
  );
  assert.equal(lease?.spec.holderIdentity, 'beta');
  assert.equal(lease?.spec.leaseTransitions, 1);

  // A clean stop releases the lease at once.
  b.proc.kill('SIGTERM');
  await eventually('beta to stop', () => b.output().includes('STOPPED beta stopped'), 10_000);
  const released = await client.get<KubeObject & { spec: { holderIdentity?: string } }>(Resources.Lease, {
    namespace: ns,
    name: 'election',
  });
  assert.equal(released?.spec.holderIdentity ?? '', '');
});

// The informer must keep delivering events after the API server goes away and comes back.
// This test really stops the ground's kube-apiserver and starts it again with test/ground/up.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { eventually, GROUND_DIR, ground } from '@plinth/ground';
import { Informer, type KubeObject, Resources } from '@plinth/kube';
import { useNamespace } from './support.ts';

const run = promisify(execFile);
const space = useNamespace('informer');

it('keeps delivering events across a kube-apiserver restart', async () => {
  const { client, name: ns } = await space();
  const seen: string[] = [];
  const informer = new Informer<KubeObject>({
    client,
    type: Resources.ConfigMap,
    namespace: ns,
    backoff: { initialMs: 100, maxMs: 1000 },
  });
  informer.on('add', (cm) => seen.push(cm.metadata?.name ?? ''));
  await informer.start();
  try {
    await client.create(Resources.ConfigMap, { metadata: { name: 'before', namespace: ns } });
    await eventually('add event for "before"', () => seen.includes('before'));

    const pidFile = join(ground('GROUND_STATE'), 'run', 'kube-apiserver.pid');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    await eventually('kube-apiserver to exit', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    await eventually('the informer to notice', () => informer.restarts > 0, 30_000);
    await run(join(GROUND_DIR, 'up'), ['kubernetes'], { timeout: 180_000 });

    await client.create(Resources.ConfigMap, { metadata: { name: 'after', namespace: ns } });
    await eventually('add event for "after" once the API server is back', () => seen.includes('after'), 60_000);
    assert.ok(informer.restarts >= 1, `expected at least one restart, saw ${informer.restarts}`);
    assert.deepEqual(
      informer
        .list(ns)
        .map((c) => c.metadata?.name)
        .filter((n) => n !== 'kube-root-ca.crt')
        .sort(),
      ['after', 'before'],
    );
  } finally {
    informer.stop();
  }
});

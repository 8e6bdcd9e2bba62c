// plinth-operator: runs the controllers while it holds the leader Lease.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createLogger, KubeClient, LeaderElector } from '@plinth/kube';
import { build, configFromEnv } from './app.ts';

const log = createLogger('plinth-operator');
let config: ReturnType<typeof configFromEnv>;
try {
  config = configFromEnv();
} catch (e) {
  log.fatal((e as Error).message);
  process.exit(2);
}
const client = KubeClient.load(process.env.KUBECONFIG);
const identity = `${process.env.POD_NAME ?? 'operator'}-${randomUUID().slice(0, 8)}`;
const elector = new LeaderElector({
  client,
  namespace: process.env.POD_NAMESPACE ?? 'plinth-system',
  name: 'plinth-operator',
  identity,
  logger: log,
});
// Liveness for the kubelet: the process serves; leading or standing by are both healthy.
const health = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/healthz' ? 'ok' : 'not found');
}).listen(Number(process.env.PLINTH_HEALTH_PORT ?? 8081), process.env.POD_IP ?? '127.0.0.1');
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());
const outcome = await elector.run(async (leading) => {
  const operator = build({ client, config, logger: log });
  await operator.start();
  await new Promise((r) => leading.addEventListener('abort', r, { once: true }));
  await operator.stop();
}, stop.signal);
health.close();
// Losing the lease means another replica leads now: exit so this one restarts clean.
process.exit(outcome === 'lost' ? 1 : 0);

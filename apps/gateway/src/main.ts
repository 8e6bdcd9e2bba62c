// plinth-gateway in a cluster: routes from Functions, endpoints from EndpointSlices.
// PLINTH_MAX_BODY_BYTES: the request body limit (default 10 MiB).
// PLINTH_MAX_BUFFERED_BYTES: most bytes of chunked bodies held at once, all requests together
// (default 64 MiB); past it, 503 with Retry-After.
// TLS when PLINTH_TLS_CERT_FILE and PLINTH_TLS_KEY_FILE are set (the Helm chart mounts a
// cert-manager certificate there); plain HTTP only behind a TLS-terminating proxy or mesh.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createLogger, KubeClient } from '@plinth/kube';
import { build, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BUFFERED_BYTES, KubeBackend, listen } from './app.ts';

const log = createLogger('plinth-gateway');
const port = Number(process.env.PORT ?? 8080);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  log.fatal(`PORT must be a port number, got "${process.env.PORT}"`);
  process.exit(2);
}
/** A byte count from the environment, or the default; exits 2 naming the variable when it is not one. */
function bytes(name: string, fallback: number): number {
  const value = process.env[name] ? Number(process.env[name]) : fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    log.fatal(`${name} must be a number of bytes, got "${process.env[name]}"`);
    process.exit(2);
  }
  return value;
}
// The largest request body forwarded to a function (bytes); 413 past it.
const maxBodyBytes = bytes('PLINTH_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES);
// Chunked bodies held in memory at once, all requests together; 503 with Retry-After past it.
const maxBufferedBytes = bytes('PLINTH_MAX_BUFFERED_BYTES', DEFAULT_MAX_BUFFERED_BYTES);
const backend = new KubeBackend({ client: KubeClient.load(process.env.KUBECONFIG), logger: log });
await backend.start();
const gateway = build({ backend, logger: log, adminOnMainListener: false, maxBodyBytes, maxBufferedBytes });
// Metrics, stats (for the autoscaler) and routes: cluster-internal only, never on the public port.
const adminPort = Number(process.env.PLINTH_ADMIN_PORT ?? 9090);
const admin = createServer(gateway.adminListener).listen(adminPort, process.env.POD_IP ?? '0.0.0.0');
const cert = process.env.PLINTH_TLS_CERT_FILE;
const key = process.env.PLINTH_TLS_KEY_FILE;
let close: () => void;
if (cert && key) {
  const server = createHttpsServer(
    { cert: readFileSync(cert), key: readFileSync(key), keepAliveTimeout: 65_000 },
    gateway.listener,
  );
  server.on('checkContinue', gateway.checkContinue);
  server.listen(port, process.env.HOST ?? '0.0.0.0');
  close = () => server.close();
  log.info({ port, tls: true }, 'gateway listening');
} else {
  const { server, url } = await listen(gateway, { port, host: process.env.HOST ?? '0.0.0.0' });
  close = () => server.close();
  log.warn({ url }, 'gateway listening without TLS: set PLINTH_TLS_CERT_FILE and PLINTH_TLS_KEY_FILE');
}
const stop = async () => {
  close();
  admin.close();
  backend.stop();
  await gateway.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

// plinth-graphql in a cluster: reads its config (JSON) from the file named by
// PLINTH_GRAPHQL_CONFIG (a Secret the operator renders) and checks it against its schema (exit 2,
// every bad field named), builds the schema, then serves.
// TLS when PLINTH_TLS_CERT_FILE and PLINTH_TLS_KEY_FILE are set; otherwise plain HTTP for
// the gateway inside the mesh.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { pino } from 'pino';
import { build, GraphqlConfigFile } from './app.ts';

const log = pino({ name: 'plinth-graphql', level: process.env.PLINTH_LOG_LEVEL ?? 'info' });
const file = process.env.PLINTH_GRAPHQL_CONFIG;
if (!file) {
  log.fatal('PLINTH_GRAPHQL_CONFIG must name the GraphQL API config file');
  process.exit(2);
}
let api: ReturnType<typeof build>;
try {
  api = build(GraphqlConfigFile.read(file), { logger: log });
} catch (e) {
  log.fatal({ code: (e as { code?: string }).code }, (e as Error).message);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 8080);
const cert = process.env.PLINTH_TLS_CERT_FILE;
const key = process.env.PLINTH_TLS_KEY_FILE;
const server =
  cert && key
    ? createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }, api.listener)
    : createServer(api.listener);
await api.ready();
server.listen(port, process.env.HOST ?? '0.0.0.0', () => log.info({ port, tls: !!(cert && key) }, 'graphql listening'));
// Metrics stay off the routed port: the gateway forwards everything under the API's prefix.
const adminPort = Number(process.env.PLINTH_ADMIN_PORT ?? 9090);
const admin = createServer(api.adminListener).listen(adminPort, process.env.POD_IP ?? process.env.HOST ?? '127.0.0.1');
const stop = async () => {
  admin.close();
  server.close();
  await api.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

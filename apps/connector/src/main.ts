// plinth-connector: reads its ConnectorConfig (JSON) from the file named by
// PLINTH_CONNECTOR_CONFIG (in a cluster, a Secret the operator renders, since it carries the
// SASL password), consumes until SIGTERM, then drains. A config file that does not match its
// schema stops it at once (exit 2, every bad field named); a Kafka it cannot reach or that
// refuses its credentials is retried with backoff and reported, never turned into a crash loop.
import { createServer } from 'node:http';
import { ConnectorConfigFile } from '@plinth/faas';
import { pino } from 'pino';
import { build, type ConnectorConfig, ConnectorError } from './app.ts';

const log = pino({ name: 'plinth-connector', level: process.env.PLINTH_LOG_LEVEL ?? 'info' });
const file = process.env.PLINTH_CONNECTOR_CONFIG;
if (!file) {
  log.fatal('PLINTH_CONNECTOR_CONFIG must name the connector config file');
  process.exit(2);
}
let config: ConnectorConfig;
try {
  config = ConnectorConfigFile.read(file);
} catch (e) {
  log.fatal({ code: 'PLINTH_CONFIG' }, (e as Error).message);
  process.exit(2);
}
const connector = build({ config, logger: log });

let stopping = false;
const metricsPort = Number(process.env.PLINTH_METRICS_PORT ?? 0);
const metrics = metricsPort
  ? createServer(async (req, res) => {
      if (req.url === '/metrics') {
        res.setHeader('content-type', connector.registry.contentType);
        res.end(await connector.registry.metrics());
      } else res.end(JSON.stringify({ status: stopping ? 'stopping' : 'ok' }));
    }).listen(metricsPort, process.env.POD_IP ?? '127.0.0.1')
  : undefined;

process.once('SIGTERM', async () => {
  stopping = true;
  await connector.stop(Number(process.env.PLINTH_DRAIN_MS ?? 10_000));
  metrics?.close();
  process.exit(0);
});

for (let attempt = 0; !stopping; attempt++) {
  try {
    await connector.start();
    break;
  } catch (e) {
    const delay = Math.min(30_000, 1000 * 2 ** attempt);
    const code = e instanceof ConnectorError ? e.code : 'PLINTH_CONNECTOR';
    log.error({ code, retryInMs: delay }, (e as Error).message);
    await new Promise((r) => setTimeout(r, delay));
  }
}

// `plinth dev [dir]`: the gateway and the runtimes as local processes for every Function
// manifest under dir, reloaded when files change. No cluster needed. Routes are owned as in a
// cluster (Tenant manifests under dir grant paths and hosts); a function whose path or host
// is refused is not routed, and the reason is printed as that function's error. Before the
// URLs are printed, every function's dependencies are installed (or found in the cache) and Go
// and Java are compiled, a line per function; one whose install or build fails prints the
// tool's output as its error and answers 503 with it, while the others serve.
import { watch } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build as buildConnector, type Connector } from '@plinth/connector';
import {
  connectorConfig,
  LocalBackend,
  type LocalFunction,
  loadFunctionManifests,
  loadSecretManifests,
  loadTenantManifests,
  loadTriggerManifests,
  ManifestError,
  type Route,
  type RouteGrant,
  secretRefs,
  tenantGrant,
} from '@plinth/faas';
import { build, listen } from '@plinth/gateway';
import { pino } from 'pino';

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

function load(dir: string): LocalFunction[] {
  return loadFunctionManifests(dir).map((m) => ({
    namespace: m.object.metadata.namespace ?? 'default',
    name: m.object.metadata.name ?? '',
    spec: m.object.spec,
    codeDir: m.dir,
  }));
}

function grants(dir: string): RouteGrant[] {
  return loadTenantManifests(dir).map((t) => tenantGrant(t));
}

const duration = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

/** Runtime log lines (JSON) shown as `fn | level msg`. */
function showLog(fn: string, line: string) {
  try {
    const { level, msg, ...rest } = JSON.parse(line) as { level?: string; msg?: string; time?: string };
    delete rest.time;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    err(`${fn} | ${level ?? 'info'} ${msg ?? ''}${extra}`);
  } catch {
    err(`${fn} | ${line}`);
  }
}

export async function dev(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string', default: process.env.PLINTH_DEV_PORT ?? '8080' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const dir = resolve(positionals[0] ?? '.');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    err(`plinth dev: --port must be a number from 0 to 65535, got "${values.port}"`);
    return 2;
  }
  let functions: LocalFunction[];
  let tenants: RouteGrant[];
  try {
    functions = load(dir);
    tenants = grants(dir);
  } catch (e) {
    err(
      e instanceof ManifestError
        ? `plinth dev: invalid manifest in ${e.message}`
        : `plinth dev: ${(e as Error).message}`,
    );
    return 1;
  }
  if (functions.length === 0) {
    err(`plinth dev: no Function manifests (apiVersion plinth.dev/v1alpha1, kind Function) under ${dir}`);
    return 1;
  }

  const backend = new LocalBackend({
    onLog: showLog,
    onEvent: (e) => {
      if (e.error) err(`${e.fn} | error ${e.what}: ${e.error.trimEnd().replaceAll('\n', `\n${e.fn} |   `)}`);
      else if (e.what.startsWith('installing')) err(`${e.fn} | ${e.what}...`);
      else if (e.what !== 'revision created')
        err(`${e.fn} | ${e.what}${e.ms !== undefined ? ` in ${duration(e.ms)}` : ''}`);
    },
  });
  const logger = pino({ name: 'plinth-gateway', level: process.env.PLINTH_LOG_LEVEL ?? 'warn' });
  const gateway = build({ backend, logger, coldStartTimeoutMs: 120_000 });
  let routes = await backend.setFunctions(functions, tenants);
  const t0 = performance.now();
  await backend.prepare();
  await backend.warm();
  let url: string;
  let server: Awaited<ReturnType<typeof listen>>['server'];
  try {
    ({ server, url } = await listen(gateway, { port, host: values.host }));
  } catch (e) {
    err(`plinth dev: cannot listen on ${values.host}:${port}: ${(e as Error).message} (choose another with --port)`);
    await backend.close();
    return 1;
  }

  /** After a function's URL: why it does not serve (its install or build failed), if so. */
  const notServing = (fn: string) => {
    const error = backend.failures().get(fn)?.split('\n')[0];
    return error ? `  (not serving: ${error}; see above)` : '';
  };
  const printRoutes = () => {
    const width = Math.max(...routes.map((r) => r.function.length));
    for (const r of routes) out(`${r.function.padEnd(width)}  ${url}${r.prefix}${notServing(r.function)}`);
  };
  out(
    `plinth dev: ${routes.length} function(s) from ${relative(process.cwd(), dir) || '.'}, ready in ${Math.round(performance.now() - t0)} ms`,
  );
  printRoutes();
  const connectors = await startTriggers(dir, url, routes);
  err(`watching ${dir} for changes; Ctrl-C to stop`);

  const scaler = setInterval(() => {
    backend.tick(gateway.inflight()).catch((e: unknown) => err(`autoscaler: ${(e as Error).message}`));
  }, 1000);

  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dir, { recursive: true }, (_event, file) => {
    if (file && /(^|\/)(\.|node_modules|__pycache__)/.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const before = new Map(routes.map((r) => [r.function, r.targets[0]?.revision]));
        routes = await backend.setFunctions(load(dir), grants(dir));
        await backend.prepare();
        for (const r of routes) {
          const rev = r.targets[0]?.revision;
          if (before.get(r.function) !== rev)
            out(`reloaded ${r.function} (revision ${rev})  ${url}${r.prefix}${notServing(r.function)}`);
        }
      } catch (e) {
        err(`plinth dev: not reloaded: ${e instanceof ManifestError ? e.message : (e as Error).message}`);
      }
    }, 200);
  });

  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  err('stopping');
  clearInterval(scaler);
  watcher.close();
  await Promise.all(connectors.map((c) => c.stop(5000)));
  server.close();
  await gateway.close();
  await backend.close();
  return 0;
}

/**
 * Runs a connector for every KafkaTrigger under dir, delivering to the local gateway. Secret
 * references resolve from Secret manifests in the same directory. A Kafka that refuses or
 * cannot be reached is reported and retried; it never stops `plinth dev`.
 */
async function startTriggers(dir: string, gatewayURL: string, routes: readonly Route[]): Promise<Connector[]> {
  const triggers = loadTriggerManifests(dir);
  if (triggers.length === 0) return [];
  const secrets = loadSecretManifests(dir);
  const logger = pino({ name: 'plinth-connector', level: process.env.PLINTH_LOG_LEVEL ?? 'warn' });
  const started: Connector[] = [];
  for (const { object: t } of triggers) {
    const ns = t.metadata.namespace ?? 'default';
    const key = `${ns}/${t.metadata.name}`;
    const route = routes.find((r) => r.function === `${ns}/${t.spec.functionRef.name}`);
    if (!route) {
      err(`${key} | error: Function ${ns}/${t.spec.functionRef.name} is not under ${dir}; trigger not started`);
      continue;
    }
    const resolved: Record<string, string> = {};
    const missing: string[] = [];
    for (const [role, ref] of Object.entries(secretRefs(t))) {
      const value = secrets.get(`${ns}/${ref.name}`)?.[ref.key];
      if (value === undefined) missing.push(`${ref.name}/${ref.key}`);
      else resolved[role] = value;
    }
    if (missing.length) {
      err(
        `${key} | error: Secret key(s) ${missing.join(', ')} not found in Secret manifests under ${dir}; trigger not started`,
      );
      continue;
    }
    const connector = buildConnector({ config: connectorConfig(t, `${gatewayURL}${route.prefix}`, resolved), logger });
    started.push(connector);
    out(`${key}  ${t.spec.topics.join(', ')} -> ${route.function}`);
    void (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          await connector.start();
          return;
        } catch (e) {
          const delay = Math.min(30_000, 1000 * 2 ** attempt);
          err(`${key} | error ${(e as Error).message}; retrying in ${delay / 1000} s`);
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })();
  }
  return started;
}

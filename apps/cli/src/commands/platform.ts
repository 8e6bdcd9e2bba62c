// `plinth render [-c platform.yaml] [--out dir]`: the GitOps directory for a platform config,
// deterministic (same config, same bytes); without --out, a summary of what it would write.
// A bad config fails here, naming each field, before anything touches a cluster.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeApiError, KubeClient } from '@plinth/kube';
import {
  ConfigError,
  down,
  InstallError,
  loadConfig,
  type PlatformConfig,
  render,
  renderFiles,
  resolveConfig,
  resourceSummary,
  status,
  up,
} from '@plinth/platform';

/** The config from -c (YAML or TypeScript), or the dev profile's defaults. */
export async function configFrom(file: string | undefined): Promise<PlatformConfig> {
  return file ? loadConfig(file) : resolveConfig({}, '(defaults)');
}

/** Loads the config, or says what is wrong with it (exit 2) before anything else happens. */
async function configOrExit(command: string, file: string | undefined): Promise<PlatformConfig | undefined> {
  try {
    return await configFrom(file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`plinth ${command}: ${e.message}\n`);
    return undefined;
  }
}

export async function renderCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      out: { type: 'string' },
      path: { type: 'string', default: './platform' },
    },
  });
  const config = await configOrExit('render', values.config);
  if (!config) return 2;
  const files = renderFiles(config, values.path);
  if (!values.out) {
    for (const r of render(config)) {
      process.stdout.write(
        `${r.dir.padEnd(28)} ${String(r.release.length + r.config.length).padStart(3)} objects${r.dependsOn.length ? `  after ${r.dependsOn.join(', ')}` : ''}\n`,
      );
    }
    process.stdout.write(`${files.size} files; write them with --out <dir>\n`);
    return 0;
  }
  rmSync(values.out, { recursive: true, force: true });
  for (const [path, text] of files) {
    mkdirSync(dirname(join(values.out, path)), { recursive: true });
    writeFileSync(join(values.out, path), text);
  }
  process.stdout.write(`wrote ${files.size} files to ${values.out} (${config.profile} profile)\n`);
  return 0;
}

const client = () => KubeClient.load(process.env.KUBECONFIG);

export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, timeout: { type: 'string', default: '600' } },
  });
  const config = await configOrExit('up', values.config);
  if (!config) return 2;
  const started = Date.now();
  try {
    const r = await up(client(), config, {
      timeoutMs: Number(values.timeout) * 1000,
      progress: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(
      `\nPlinth is up (${config.profile}): ${r.components.length} component(s) in ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
    for (const u of r.urls) process.stdout.write(`  ${u}\n`);
    for (const c of r.credentials) process.stdout.write(`  credentials: ${c}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof InstallError) && !(e instanceof KubeApiError)) throw e;
    process.stderr.write(`plinth up: ${e.message}\n`);
    return 1;
  }
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } } });
  const config = await configOrExit('status', values.config);
  if (!config) return 2;
  const c = client();
  const rows = await status(c, config);
  for (const r of rows)
    process.stdout.write(`${r.name.padEnd(24)} ${r.healthy ? 'healthy ' : 'NOT READY'} ${r.healthy ? '' : r.detail}\n`);
  for (const s of await resourceSummary(c)) {
    process.stdout.write(
      `${s.kind.padEnd(24)} ${s.error ? `unavailable: ${s.error}` : `${s.ready}/${s.total} ready`}\n`,
    );
  }
  return rows.every((r) => r.healthy) ? 0 : 1;
}

export async function downCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'delete-volumes': { type: 'boolean', default: false },
      'delete-resources': { type: 'boolean', default: false },
    },
  });
  try {
    const n = await down(client(), {
      deleteVolumes: values['delete-volumes'],
      deleteResources: values['delete-resources'],
      progress: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`removed ${n} object(s)\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof InstallError) && !(e instanceof KubeApiError)) throw e;
    process.stderr.write(`plinth down: ${e.message}\n`);
    return 1;
  }
}

// `plinth render [-c platform.yaml] [--out dir]`: the GitOps directory for a platform config,
// deterministic (same config, same bytes); without --out, a summary of what it would write.
// A bad config fails here, naming each field, before anything touches a cluster.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type PlatformConfig, render, renderFiles, resolveConfig } from '@plinth/platform';

export const PLATFORM_USAGE = `usage:
  plinth render [-c platform.yaml|platform.ts] [--out dir] [--path ./platform]
`;

/** The config from -c (YAML or TypeScript), or the dev profile's defaults. */
export async function configFrom(file: string | undefined): Promise<PlatformConfig> {
  return file ? loadConfig(file) : resolveConfig({}, '(defaults)');
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
  let config: PlatformConfig;
  try {
    config = await configFrom(values.config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`plinth render: ${e.message}\n`);
    return 2;
  }
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

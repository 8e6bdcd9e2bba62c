// `plinth init <dir> --runtime <lang>`: a new function from the runtime's template.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Runtime, Runtimes } from '@plinth/api';
import { RUNTIMES_DIR } from '@plinth/faas';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$/;

export function init(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { runtime: { type: 'string', short: 'r' }, name: { type: 'string' } },
  });
  const dir = positionals[0];
  const runtime = values.runtime as Runtime | undefined;
  if (!dir || !runtime) {
    process.stderr.write(`usage: plinth init <dir> --runtime <${Runtimes.join('|')}> [--name NAME]\n`);
    return 2;
  }
  if (!Runtimes.includes(runtime)) {
    process.stderr.write(`plinth init: unknown runtime "${runtime}"; choose one of ${Runtimes.join(', ')}\n`);
    return 2;
  }
  const target = resolve(dir);
  const name = values.name ?? basename(target);
  if (!DNS_LABEL.test(name)) {
    process.stderr.write(
      `plinth init: "${name}" cannot name a Function: use 1-50 lowercase letters, digits and '-', starting and ending with a letter or digit (or pass --name)\n`,
    );
    return 2;
  }
  if (existsSync(target) && readdirSync(target).length > 0) {
    process.stderr.write(`plinth init: ${dir} exists and is not empty; choose a new directory\n`);
    return 1;
  }
  mkdirSync(target, { recursive: true });
  const template = join(RUNTIMES_DIR, runtime, 'template');
  cpSync(template, target, { recursive: true });
  for (const file of readdirSync(target)) {
    const p = join(target, file);
    writeFileSync(p, readFileSync(p, 'utf8').replaceAll('__NAME__', name));
  }
  const rel = relative(process.cwd(), target) || '.';
  process.stdout.write(`created ${runtime} function "${name}" in ${rel}\nrun it: npx plinth dev ${rel}\n`);
  return 0;
}

// An older commit of this repository, unpacked outside it with its own dependencies installed:
// for benchmarks that run the code as it was beside the code as it is.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './util.ts';

/**
 * The directory of `commit`'s tree under ~/.cache/plinth-bench (XDG_CACHE_HOME), with
 * `npm ci` run in it; reused while its lockfile is the same (a stamp file holds its hash).
 */
export function checkoutAt(commit: string, say: (line: string) => void = () => {}): string {
  const full = execFileSync('git', ['-C', ROOT, 'rev-parse', `${commit}^{commit}`], { encoding: 'utf8' }).trim();
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const dir = join(cache, 'plinth-bench', `checkout-${full.slice(0, 12)}`);
  const lock = execFileSync('git', ['-C', ROOT, 'show', `${full}:package-lock.json`]);
  const hash = createHash('sha256').update(lock).digest('hex');
  const stamp = join(dir, '.bench-installed');
  if (existsSync(join(dir, 'node_modules')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return dir;
  say(`unpacking ${full.slice(0, 12)} into ${dir} and installing its dependencies (npm ci)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', full], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  // Scripts off: the only one is the `node` package's download of a Node binary; the caller
  // runs the checkout with its own Node.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--loglevel=error'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  writeFileSync(stamp, hash);
  return dir;
}

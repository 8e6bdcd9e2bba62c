// `plinth dev` as a child process, for the CLI's tests: what it printed so far, by stream.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const cli = join(import.meta.dirname, '..', 'src', 'main.ts');

export interface DevProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
}

/** `plinth dev <dir> --port 0` with its output collected. */
export function spawnDev(dir: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): DevProcess {
  let stdout = '';
  let stderr = '';
  const child = spawn(process.execPath, [cli, 'dev', dir, '--port', '0'], {
    ...opts,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return { child, stdout: () => stdout, stderr: () => stderr };
}

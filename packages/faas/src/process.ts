// Local function instances: a runtime process on 127.0.0.1 with its own port, ready when it
// answers the contract's readiness check.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface Instance {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string | null>;
  /** SIGTERM (graceful drain), then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface ProcessSpec {
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with each line the process writes (its JSON logs). */
  onLine?: (line: string) => void;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startProcess(spec: ProcessSpec): Promise<Instance> {
  const port = await freePort();
  const child: ChildProcess = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.once('error', () => resolve('spawn-error'));
  });
  const onData = (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) if (line.trim()) spec.onLine?.(line);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  if (child.pid === undefined) throw new Error(`cannot start ${spec.command}: ${(await exited) ?? 'unknown error'}`);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Polls `path` until it answers 200. Fails early if the process exits, or after timeoutMs.
 * The short interval is deliberate: it bounds how much a cold start waits on polling.
 */
export async function waitHttp(instance: Instance, path: string, timeoutMs: number, intervalMs = 2): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let exit: number | string | null | undefined;
  void instance.exited.then((c) => {
    exit = c ?? 'exited';
  });
  for (;;) {
    if (exit !== undefined) throw new Error(`process ${instance.pid} exited (${exit}) before ${path} answered`);
    try {
      const res = await fetch(instance.url + path);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {}
    if (performance.now() > deadline) throw new Error(`${instance.url}${path} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

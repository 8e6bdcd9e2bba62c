import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '..', '..');

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

/** Runs bench/lib/load.ts in its own process. */
export async function load(
  url: string,
  concurrency: number,
  seconds: number,
  warmupSeconds = 1,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
): Promise<LoadResult> {
  const { stdout } = await run(
    process.execPath,
    [
      join(import.meta.dirname, 'load.ts'),
      url,
      String(concurrency),
      String(seconds),
      String(warmupSeconds),
      JSON.stringify(init),
    ],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export const round = (n: number, digits = 3) => Number(n.toFixed(digits));

// A closed-loop HTTP load generator, run as its own process so it does not share an event
// loop with what it measures: `concurrency` workers each send the next request when the last
// one answered, for `seconds`. Prints one JSON line: requests, errors, rps, p50/p90/p99 in ms.
//   node bench/lib/load.ts <url> <concurrency> <seconds> [warmupSeconds] [requestJSON]
// requestJSON: {"method", "headers", "body"} for every request (default: a GET).
import { Agent, request } from 'undici';

const [url, c = '16', s = '5', w = '1', init = '{}'] = process.argv.slice(2);
if (!url) {
  console.error('usage: load.ts <url> <concurrency> <seconds> [warmupSeconds]');
  process.exit(2);
}
const concurrency = Number(c);
const {
  method = 'GET',
  headers = {},
  body,
} = JSON.parse(init) as {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
};
const agent = new Agent({ connections: concurrency, keepAliveTimeout: 60_000 });

async function run(ms: number, record: boolean) {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const res = await request(url as string, { dispatcher: agent, method, headers, body });
          await res.body.arrayBuffer();
          if (res.statusCode !== 200) errors++;
          else if (record) latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latencies, errors };
}

await run(Number(w) * 1000, false);
const t0 = performance.now();
const { latencies, errors } = await run(Number(s) * 1000, true);
const elapsed = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
console.log(
  JSON.stringify({
    requests: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50Ms: q(0.5),
    p90Ms: q(0.9),
    p99Ms: q(0.99),
  }),
);
await agent.close();

// Accepts a message or a batch; with LATENCY_FILE set, records now - <value as ms epoch> per message.
import { appendFileSync } from 'node:fs';

export default async function (req) {
  const batch = req.headers.get('content-type') === 'application/vnd.plinth.kafka-batch+json';
  const values = batch ? (await req.json()).map((m) => m.value) : [await req.text()];
  if (process.env.LATENCY_FILE)
    appendFileSync(process.env.LATENCY_FILE, values.map((v) => `${Date.now() - Number(v)}\n`).join(''));
  return undefined;
}

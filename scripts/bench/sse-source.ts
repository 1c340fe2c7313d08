/**
 * A deliberately cheap SSE upstream for the relay benchmark: answers any request with `?bytes=N`
 * bytes of Codex-shaped text deltas, written in 64 KiB batches with backpressure. Costing next to
 * nothing itself, it shows the relay's own ceiling and whether its memory grows with stream size.
 *
 *   node scripts/bench/sse-source.ts   → prints "sse-source listening on http://127.0.0.1:PORT"
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const EVENT = Buffer.from(
  'event: response.output_text.delta\n' +
    `data: {"type":"response.output_text.delta","item_id":"msg_bench","output_index":0,"content_index":0,"delta":"${'x'.repeat(64)}"}\n\n`,
);
const BATCH = Buffer.concat(Array.from({ length: Math.floor(65_536 / EVENT.length) }, () => EVENT));

const server = createServer((req, res) => {
  req.resume();
  const total = Number(new URL(req.url ?? '/', 'http://source').searchParams.get('bytes') ?? 0);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const chunk = total - sent >= BATCH.length ? BATCH : BATCH.subarray(0, total - sent);
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => (sent = total));
  pump();
});

server.listen(0, '127.0.0.1', () => {
  console.log(`sse-source listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));

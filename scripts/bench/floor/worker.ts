/**
 * The floor `npm run bench -- stream` measures our Worker against: a minimal Worker, never
 * deployed (its own wrangler.jsonc, started only by the bench), that makes the same upstream call
 * through the same relay and answers in one of three ways:
 *   /pipe      (a) the upstream body handed to the runtime as it is: workerd's own floor
 *   /reencode  (b) one TransformStream that parses every event and encodes it again
 *   /identity  (c) one TransformStream that passes every chunk on untouched: the price of any JS stage
 * The bench sends the upstream request itself (headers and body), so nothing else differs.
 */
interface FloorEnv {
  RELAY_URL: string;
}

const FORWARDED = ['authorization', 'chatgpt-account-id', 'x-relay-token', 'content-type', 'accept'];

/** Each event parsed and encoded again, all events of one chunk sent as one chunk. */
function reencode(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = '';
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      let out = '';
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').find((line) => line.startsWith('data: '));
        if (!data) continue;
        const event = JSON.parse(data.slice(6)) as { type: string };
        out += `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
      }
      if (out) controller.enqueue(encoder.encode(out));
    },
  });
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const mode = new URL(request.url).pathname;
    if (mode === '/healthz') return new Response('ok');
    const headers = new Headers();
    for (const name of FORWARDED) {
      const value = request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const upstream = await fetch(`${env.RELAY_URL}/backend-api/codex/responses`, { method: 'POST', headers, body: await request.text() });
    const answer = { status: upstream.status, headers: { 'content-type': 'text/event-stream; charset=utf-8' } };
    if (!upstream.body || mode === '/pipe') return new Response(upstream.body, answer);
    if (mode === '/identity') return new Response(upstream.body.pipeThrough(new TransformStream({ transform: (chunk, c) => c.enqueue(chunk) })), answer);
    return new Response(upstream.body.pipeThrough(reencode()), answer);
  },
};

/**
 * Translation costs in Node (README, "Chat Completions benchmark"): stream translation throughput
 * against plain SSE parsing of the same bytes (many events per chunk: the pure-JS cost), request
 * translation of a long conversation, and heap growth over a 50 MB stream on both endpoints.
 * What the Workers runtime adds per network chunk, and the time to first byte, are in
 * stream.bench.ts. Figures are ratios or differences measured within one run.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { normalizeChatRequest } from '../../worker/translate/chat-request.ts';
import { chatSseStream } from '../../worker/translate/chat-response.ts';
import { buildModelIndex } from '../../worker/translate/model-catalog.ts';
import { EventFeed } from '../../worker/translate/sse.ts';
import { finalResponseTap, responsesSseStream } from '../../worker/translate/responses-stream.ts';
import { bundledModels, catalogOf } from '../../worker/upstream/models.ts';
import { drainFeed, drainStream, fixed, median, replay, timeIt } from './measure.ts';
import type { BenchTable } from './run.ts';

const MB = 1_000_000;
// Every bundled model: the benchmark is about translation, not the client-version gate.
const MODELS = buildModelIndex(catalogOf(bundledModels('999.0.0')));
const encoder = new TextEncoder();

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** One frame as the backend sends it: realistic field set, a few tokens of text. */
function frame(seq: number, delta: string): string {
  const data = { type: 'response.output_text.delta', sequence_number: seq, item_id: 'msg_bench', output_index: 1, content_index: 0, delta };
  return `event: response.output_text.delta\ndata: ${JSON.stringify(data)}\n\n`;
}

const OPENING = [
  { type: 'response.created', response: { id: 'resp_bench', status: 'in_progress', output: [] } },
  { type: 'response.output_item.added', output_index: 1, item: { id: 'msg_bench', type: 'message', role: 'assistant', content: [] } },
].map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
const CLOSING = `event: response.completed\ndata: ${JSON.stringify({
  type: 'response.completed',
  response: { id: 'resp_bench', status: 'completed', output: [], usage: { input_tokens: 10, output_tokens: 10, total_tokens: 20 } },
})}\n\n`;
const DELTAS = [' the', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog', ' — ünïcödé ✓'];

/** An upstream body of about `bytes` bytes, produced lazily in ~64 KB chunks (never held whole). */
function upstreamBody(bytes: number): { stream: ReadableStream<Uint8Array>; size: () => number } {
  let produced = 0;
  let seq = 0;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (closed) return;
      if (produced === 0) {
        produced += OPENING.length;
        controller.enqueue(encoder.encode(OPENING));
        return;
      }
      if (produced >= bytes) {
        closed = true;
        controller.enqueue(encoder.encode(CLOSING));
        controller.close();
        return;
      }
      let text = '';
      while (text.length < 65_536) text += frame(seq, DELTAS[seq++ % DELTAS.length]!);
      const chunk = encoder.encode(text);
      produced += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, size: () => produced };
}

/** The whole body up front, so throughput runs do not include producing the bytes. */
async function materialize(bytes: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of upstreamBody(bytes).stream) chunks.push(chunk);
  return chunks;
}

const CHAT_OPTIONS = {
  id: 'chatcmpl-bench', created: 0, model: 'gpt-5.5', includeUsage: true,
  reasoningDisplay: 'reasoning_content' as const, stop: [], legacyFunctions: false,
};


async function throughput(): Promise<BenchTable> {
  const chunks = await materialize(16 * MB);
  const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
  const raw: number[] = [];
  const chat: number[] = [];
  // Alternate the two so that machine noise hits both alike.
  for (let i = 0; i < 7; i++) {
    raw.push(await timeIt(() => drainFeed(new EventFeed(replay(chunks)))));
    chat.push(await timeIt(() => drainStream(chatSseStream(new EventFeed(replay(chunks)), CHAT_OPTIONS))));
  }
  const rate = (ms: number) => bytes / MB / (ms / 1000);
  const rawRate = rate(median(raw));
  const chatRate = rate(median(chat));
  return {
    title: 'Chat Completions: stream translation throughput',
    columns: ['path', 'MB/s of upstream SSE', 'ratio to parsing alone'],
    rows: [
      ['SSE parsing alone (framing + JSON)', fixed(rawRate), '1.00'],
      ['parsing + translation to chat.completion.chunk SSE', fixed(chatRate), fixed(chatRate / rawRate, 2)],
    ],
    notes: [
      `${fixed(bytes / MB)} MB of text-delta events (~${Math.round(bytes / 150_000)}k events), median of 7 alternating runs.`,
      'Target: translation ≥ 0.5× the raw parse rate.',
    ],
  };
}

function conversation(): unknown {
  const tools = Array.from({ length: 8 }, (_, i) => ({
    type: 'function',
    function: {
      name: `tool_${i}`,
      description: 'Looks something up and returns it as JSON.',
      parameters: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } }, required: ['query'] },
    },
  }));
  const messages: unknown[] = [{ role: 'system', content: 'You are a careful coding assistant. '.repeat(20) }];
  for (let turn = 0; messages.length < 50; turn++) {
    messages.push({ role: 'user', content: [{ type: 'text', text: `Question ${turn}: ${'please explain this code. '.repeat(10)}` }] });
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${turn}`, type: 'function', function: { name: `tool_${turn % 8}`, arguments: '{"query":"x","limit":3}' } }] });
    messages.push({ role: 'tool', tool_call_id: `call_${turn}`, content: 'result line\n'.repeat(20) });
    messages.push({ role: 'assistant', content: `Answer ${turn}: ${'some explanation. '.repeat(15)}` });
  }
  return { model: 'gpt-5.5-high', messages: messages.slice(0, 50), tools, tool_choice: 'auto', stream: true, stream_options: { include_usage: true } };
}

function requestTranslation(): BenchTable {
  const body = conversation();
  const text = JSON.stringify(body);
  for (let i = 0; i < 500; i++) normalizeChatRequest(JSON.parse(text), { models: MODELS });
  const runs = 3000;
  const parsed = Array.from({ length: runs }, () => JSON.parse(text) as unknown);
  const start = performance.now();
  for (const copy of parsed) normalizeChatRequest(copy, { models: MODELS });
  const perCall = (performance.now() - start) / runs;
  return {
    title: 'Chat Completions: request translation',
    columns: ['request', 'size', 'time per request'],
    rows: [['50 messages (tool calls and results), 8 tools', `${fixed(text.length / 1000)} kB`, `${fixed(perCall * 1000, 0)} µs`]],
    notes: [`Mean of ${runs} runs after 500 warm-up runs; JSON parsing of the body not included. Target: < 1 ms.`],
  };
}

/** Heap retained while one 50 MB stream goes through `answer`, as the Worker wires it (the final-response tap included). */
async function heapOver(answer: (feed: EventFeed) => ReadableStream<Uint8Array>): Promise<(string | number)[]> {
  const target = 50 * MB;
  gc();
  const before = process.memoryUsage().heapUsed;
  const retained: number[] = [];
  const body = upstreamBody(target);
  const feed = new EventFeed(body.stream);
  feed.observe(finalResponseTap(() => {}));
  const reader = answer(feed).getReader();
  let out = 0;
  let nextSample = 5 * MB;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out += value.byteLength;
    // Collect garbage now and then mid-stream: what survives is what the stream keeps alive.
    if (body.size() >= nextSample) {
      nextSample += 5 * MB;
      gc();
      retained.push(process.memoryUsage().heapUsed - before);
    }
  }
  gc();
  const after = process.memoryUsage().heapUsed - before;
  const mb = (n: number) => fixed(Math.max(0, n) / MB, 2);
  return [`${mb(body.size())} MB`, `${mb(out)} MB`, `${mb(Math.max(...retained))} MB`, `${mb(after)} MB`];
}

async function heapGrowth(): Promise<BenchTable> {
  return {
    title: 'Heap over a long stream',
    columns: ['endpoint', 'upstream streamed', 'SSE sent', 'most heap retained mid-stream', 'heap growth at the end'],
    rows: [
      ['/v1/chat/completions', ...(await heapOver((feed) => chatSseStream(feed, CHAT_OPTIONS)))],
      ['/v1/responses', ...(await heapOver((feed) => responsesSseStream(feed)))],
    ],
    notes: [
      'Heap measured after a forced GC every 5 MB of upstream and at the end. Target: growth < 5 MB over 50 MB.',
      'Chat keeps only lengths per output item. /v1/responses passes bytes on but keeps the text of an item until its output_item.done (one item here, so all of its text): the output of a response.failed or response.incomplete is rebuilt from it.',
    ],
  };
}

export default async function bench(): Promise<BenchTable[]> {
  return [await throughput(), requestTranslation(), await heapGrowth()];
}

/**
 * Anthropic Messages translation costs (README, "Messages benchmark"): stream translation
 * throughput against plain SSE parsing of the same bytes, request translation of a Claude
 * Code-shaped conversation, heap growth over a 50 MB stream, and the time to first byte of a
 * streamed `/v1/messages` against a streamed Chat Completions request through the same stack.
 * Figures are ratios or differences measured within one run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startLocalStack } from '../../test/e2e/local-stack.ts';
import { serverClaudeModelMap } from '../../worker/translate/messages-models.ts';
import { normalizeMessagesRequest } from '../../worker/translate/messages-request.ts';
import { messagesSseStream } from '../../worker/translate/messages-response.ts';
import { buildModelIndex } from '../../worker/translate/model-catalog.ts';
import { EventFeed } from '../../worker/translate/sse.ts';
import { bundledModels, catalogOf } from '../../worker/upstream/models.ts';
import { drainFeed, drainStream, fixed, median, replay, timeIt } from './measure.ts';
import type { BenchTable } from './run.ts';

const MB = 1_000_000;
const MODELS = buildModelIndex(catalogOf(bundledModels('999.0.0')));
const CLAUDE_MODELS = serverClaudeModelMap({});
const OPTIONS = { id: 'msg_bench', model: 'claude-sonnet-4-5', stop: [], thinking: true };
const encoder = new TextEncoder();

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const event = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
const DELTAS = [' the', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog', ' — ünïcödé ✓'];
const OPENING = [
  { type: 'response.created', response: { id: 'resp_bench', status: 'in_progress', output: [] } },
  { type: 'response.output_item.added', output_index: 0, item: { id: 'msg_bench', type: 'message', role: 'assistant', content: [] } },
].map(event).join('');
const CLOSING = event({
  type: 'response.completed',
  response: { id: 'resp_bench', status: 'completed', output: [], usage: { input_tokens: 10, output_tokens: 10, total_tokens: 20 } },
});

/** An upstream body of about `bytes` bytes of text deltas (one event per delta, as the backend sends them), made lazily in ~64 KB chunks. */
function upstreamBody(bytes: number): { stream: ReadableStream<Uint8Array>; size: () => number } {
  let produced = 0;
  let seq = 0;
  let closed = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (closed) return;
      let text = produced === 0 ? OPENING : '';
      if (produced >= bytes) {
        closed = true;
        controller.enqueue(encoder.encode(CLOSING));
        controller.close();
        return;
      }
      while (text.length < 65_536) {
        text += event({ type: 'response.output_text.delta', sequence_number: seq, item_id: 'msg_bench', output_index: 0, content_index: 0, delta: DELTAS[seq++ % DELTAS.length] });
      }
      const chunk = encoder.encode(text);
      produced += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, size: () => produced };
}

async function materialize(bytes: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of upstreamBody(bytes).stream) chunks.push(chunk);
  return chunks;
}


async function throughput(): Promise<BenchTable> {
  const chunks = await materialize(16 * MB);
  const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
  const raw: number[] = [];
  const translated: number[] = [];
  for (let i = 0; i < 7; i++) {
    raw.push(await timeIt(() => drainFeed(new EventFeed(replay(chunks)))));
    translated.push(await timeIt(() => drainStream(messagesSseStream(new EventFeed(replay(chunks)), OPTIONS))));
  }
  const rate = (ms: number) => bytes / MB / (ms / 1000);
  const rawRate = rate(median(raw));
  const outRate = rate(median(translated));
  return {
    title: 'Messages: stream translation throughput',
    columns: ['path', 'MB/s of upstream SSE', 'ratio to parsing alone'],
    rows: [
      ['SSE parsing alone (framing + JSON)', fixed(rawRate), '1.00'],
      ['parsing + translation to Anthropic SSE events', fixed(outRate), fixed(outRate / rawRate, 2)],
    ],
    notes: [
      `${fixed(bytes / MB)} MB of text-delta events, median of 7 alternating runs.`,
      'Target: translation ≥ 0.5× the raw parse rate.',
    ],
  };
}

/** 50 messages shaped like Claude Code's: system blocks, tool_use / tool_result turns, thinking blocks, 12 tools. */
function conversation(): unknown {
  const tools = Array.from({ length: 12 }, (_, i) => ({
    name: `Tool${i}`,
    description: 'Runs something in the workspace and returns its output. '.repeat(8),
    input_schema: { type: 'object', properties: { command: { type: 'string' }, timeout: { type: 'integer' } }, required: ['command'] },
  }));
  const messages: unknown[] = [];
  for (let turn = 0; messages.length < 50; turn++) {
    messages.push({ role: 'user', content: [{ type: 'text', text: `Task ${turn}: ${'please change this code. '.repeat(10)}` }] });
    messages.push({ role: 'assistant', content: [
      { type: 'thinking', thinking: 'Look at the file first. '.repeat(5), signature: `usemysub.v1.${'gAAAAAB'.repeat(60)}` },
      { type: 'tool_use', id: `toolu_${turn}`, name: `Tool${turn % 12}`, input: { command: 'cat src/index.ts' } },
    ] });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${turn}`, content: [{ type: 'text', text: 'line of code\n'.repeat(30) }] }] });
    messages.push({ role: 'assistant', content: [{ type: 'text', text: `Done ${turn}: ${'an explanation. '.repeat(15)}` }] });
  }
  return {
    model: 'claude-sonnet-4-5', max_tokens: 32_000, stream: true,
    system: [{ type: 'text', text: 'You are Claude Code. '.repeat(200), cache_control: { type: 'ephemeral' } }],
    messages: messages.slice(0, 50), tools, thinking: { type: 'adaptive' }, output_config: { effort: 'medium' },
  };
}

function requestTranslation(): BenchTable {
  const text = JSON.stringify(conversation());
  const options = { models: MODELS, claudeModels: CLAUDE_MODELS };
  for (let i = 0; i < 500; i++) normalizeMessagesRequest(JSON.parse(text), options);
  const runs = 3000;
  const parsed = Array.from({ length: runs }, () => JSON.parse(text) as unknown);
  const start = performance.now();
  for (const copy of parsed) normalizeMessagesRequest(copy, options);
  const perCall = (performance.now() - start) / runs;
  return {
    title: 'Messages: request translation',
    columns: ['request', 'size', 'time per request'],
    rows: [['50 messages (thinking, tool_use and tool_result), 12 tools', `${fixed(text.length / 1000)} kB`, `${fixed(perCall * 1000, 0)} µs`]],
    notes: [`Mean of ${runs} runs after 500 warm-up runs; JSON parsing of the body not included. Target: < 1 ms.`],
  };
}

async function heapGrowth(): Promise<BenchTable> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const retained: number[] = [];
  const body = upstreamBody(50 * MB);
  const reader = messagesSseStream(new EventFeed(body.stream), OPTIONS).getReader();
  let out = 0;
  let nextSample = 5 * MB;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    out += value.byteLength;
    if (body.size() >= nextSample) {
      nextSample += 5 * MB;
      gc();
      retained.push(process.memoryUsage().heapUsed - before);
    }
  }
  gc();
  const after = process.memoryUsage().heapUsed - before;
  const mb = (n: number) => fixed(Math.max(0, n) / MB, 2);
  return {
    title: 'Messages: heap over a long stream',
    columns: ['upstream streamed', 'Anthropic SSE sent', 'most heap retained mid-stream', 'heap growth at the end'],
    rows: [[`${mb(body.size())} MB`, `${mb(out)} MB`, `${mb(Math.max(...retained))} MB`, `${mb(after)} MB`]],
    notes: ['Heap measured after a forced GC every 5 MB of upstream and at the end. Target: growth < 5 MB over 50 MB.'],
  };
}

async function firstByte(url: string, init: RequestInit): Promise<number> {
  const start = performance.now();
  const res = await fetch(url, init);
  const reader = res.body!.getReader();
  await reader.read();
  const elapsed = performance.now() - start;
  await reader.cancel();
  return elapsed;
}

async function addedFirstByte(): Promise<BenchTable> {
  const stack = await startLocalStack();
  try {
    const family = stack.fake.state.createFamily();
    const authFile = join(stack.persistTo, '..', 'auth.json');
    writeFileSync(authFile, JSON.stringify(family.authJson));
    const key = /cpk_[A-Za-z0-9]+/.exec(await stack.provision(['--email', 'bench@example.com', '--auth-file', authFile]))?.[0] ?? '';
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const chat = () => firstByte(`${stack.workerUrl}/v1/chat/completions`, {
      method: 'POST', headers, body: JSON.stringify({ model: 'gpt-5.5', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    const messages = () => firstByte(`${stack.workerUrl}/v1/messages`, {
      method: 'POST', headers: { ...headers, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    for (let i = 0; i < 5; i++) {
      await chat();
      await messages();
    }
    const times: Record<'chat' | 'messages', number[]> = { chat: [], messages: [] };
    for (let i = 0; i < 30; i++) {
      times.chat.push(await chat());
      times.messages.push(await messages());
    }
    const c = median(times.chat);
    const m = median(times.messages);
    return {
      title: 'Messages: time to first byte',
      columns: ['path', 'median TTFB', 'added'],
      rows: [
        ['streamed chat completion via wrangler dev → relay → fake backend', `${fixed(c)} ms`, '—'],
        ['streamed /v1/messages, same path', `${fixed(m)} ms`, `${fixed(m - c)} ms`],
      ],
      notes: [
        'Median of 30 alternating requests after 5 warm-up pairs. /v1/messages sends message_start at once, then waits for the backend like chat does;',
        'the user’s Claude model entries come with the AuthBroker’s answer to the key check, so no read of their own.',
      ],
    };
  } finally {
    await stack.stop();
  }
}

export default async function bench(): Promise<BenchTable[]> {
  return [await throughput(), requestTranslation(), await heapGrowth(), await addedFirstByte()];
}

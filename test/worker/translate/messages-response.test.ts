import { describe, expect, it } from 'vitest';
import { collectMessage, messagesSseStream } from '../../../worker/translate/messages-response.ts';
import type { MessagesStreamOptions } from '../../../worker/translate/messages-stream.ts';
import type { AnthropicUsage } from '../../../worker/translate/messages-types.ts';
import { EventFeed } from '../../../worker/translate/sse.ts';
import { feedOf } from '../helpers/sse.ts';
import { ARGS_A, failed, FULL_STREAM, OPENING_EVENTS, SUMMARY, TEXT, TEXT_STREAM, toSse } from '../fixtures/chat-streams.ts';
import { rejection } from '../helpers/rejection.ts';

const OPTIONS: MessagesStreamOptions = { id: 'msg_test', model: 'claude-opus-4-1', stop: [], thinking: true };

const eventsOf = feedOf;

function bytesStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

const text = (stream: ReadableStream<Uint8Array>) => new Response(stream).text();

/** `event:` name and parsed data of each frame. */
function frames(sse: string): { event: string; data: Record<string, any> }[] {
  return sse.split('\n\n').filter(Boolean).map((frame) => {
    const [head = '', data = ''] = frame.split('\n');
    return { event: head.replace(/^event: /, ''), data: JSON.parse(data.replace(/^data: /, '')) };
  });
}

describe('the streamed Anthropic answer', () => {
  it('names every frame by its event type, as Anthropic’s SSE does', async () => {
    const out = frames(await text(messagesSseStream(eventsOf(TEXT_STREAM), OPTIONS)));
    for (const frame of out) expect(frame.event).toBe(frame.data.type);
    expect(out.map((f) => f.event)).toEqual([
      'message_start', 'ping', 'content_block_start',
      ...out.filter((f) => f.event === 'content_block_delta').map(() => 'content_block_delta'),
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
  });

  it('gives the same frames whatever byte offset the network splits the upstream stream at', async () => {
    const bytes = new TextEncoder().encode(toSse(FULL_STREAM));
    const expected = await text(messagesSseStream(new EventFeed(bytesStream([bytes])), OPTIONS));
    expect(expected).toContain('signature_delta');
    for (let at = 1; at < bytes.length; at++) {
      const got = await text(messagesSseStream(new EventFeed(bytesStream([bytes.slice(0, at), bytes.slice(at)])), OPTIONS));
      // Cheap comparison first: a diff per offset would dominate the run time.
      if (got !== expected) expect(got, `split at byte ${at}`).toBe(expected);
    }
  }, 120_000);

  it('ends a failed answer with one Anthropic error event and no message_stop', async () => {
    const out = frames(await text(messagesSseStream(eventsOf([...OPENING_EVENTS, failed('server_error', 'Broke.')]), OPTIONS)));
    expect(out.at(-1)).toEqual({ event: 'error', data: { type: 'error', error: { type: 'api_error', message: 'The Codex backend failed: Broke.' } } });
    expect(out.map((f) => f.event)).not.toContain('message_stop');
  });

  it('ends a stream that breaks before its terminal event with an error event', async () => {
    const events = eventsOf(TEXT_STREAM.slice(0, -1));
    const out = frames(await text(messagesSseStream(events, OPTIONS)));
    expect(out.at(-1)).toMatchObject({ event: 'error', data: { error: { type: 'api_error' } } });
  });

  it('tells onUsage the usage of a finished answer', async () => {
    const seen: AnthropicUsage[] = [];
    await text(messagesSseStream(eventsOf(TEXT_STREAM), { ...OPTIONS, onUsage: (usage) => seen.push(usage) }));
    expect(seen).toEqual([{ input_tokens: 176, output_tokens: 80, cache_creation_input_tokens: 0, cache_read_input_tokens: 1024 }]);
  });
});

describe('the Anthropic answer without streaming', () => {
  it('folds the stream into one message', async () => {
    const seen: AnthropicUsage[] = [];
    const message = await collectMessage(eventsOf(FULL_STREAM), { ...OPTIONS, onUsage: (usage) => seen.push(usage) });
    expect(message).toEqual({
      id: 'msg_test', type: 'message', role: 'assistant', model: 'claude-opus-4-1',
      content: [
        { type: 'thinking', thinking: SUMMARY.join('\n\n'), signature: 'usemysub.v1.gAAAAABenc==' },
        { type: 'text', text: TEXT },
        { type: 'tool_use', id: 'call_a', name: 'get_weather', input: JSON.parse(ARGS_A) },
        { type: 'tool_use', id: 'call_b', name: 'get_weather', input: { city: 'Zürich' } },
      ],
      stop_reason: 'tool_use', stop_sequence: null,
      usage: { input_tokens: 176, output_tokens: 80, cache_creation_input_tokens: 0, cache_read_input_tokens: 1024 },
    });
    expect(seen).toHaveLength(1);
  });

  it('throws the ApiError of a failed answer, and cancels the upstream read', async () => {
    const events = eventsOf([...OPENING_EVENTS, failed('context_length_exceeded', 'Too long.')]);
    const err = await rejection(collectMessage(events, OPTIONS));
    expect(err.status).toBe(400);
    expect(events.state.cancelled).toBe(true);
  });
});

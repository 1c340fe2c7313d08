import { describe, expect, it } from 'vitest';
import { chatSseStream, collectChatCompletion } from '../../../worker/translate/chat-response.ts';
import type { ChatStreamOptions } from '../../../worker/translate/chat-stream.ts';
import { EventFeed } from '../../../worker/translate/sse.ts';
import {
  ARGS_A, ARGS_B, CHAT_USAGE, failed, FULL_STREAM, MESSAGE_EVENTS, OPENING_EVENTS, SUMMARY, TEXT, TEXT_STREAM, toSse,
} from '../fixtures/chat-streams.ts';
import { rejection } from '../helpers/rejection.ts';
import { bytesOf, feedOf as eventsOf, pushedFeed } from '../helpers/sse.ts';

const OPTIONS: ChatStreamOptions = {
  id: 'chatcmpl-test',
  created: 1764000000,
  model: 'gpt-5.5',
  includeUsage: true,
  reasoningDisplay: 'reasoning_content',
  stop: [],
  legacyFunctions: false,
};

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

/** The `data:` payloads of an SSE text, in order. */
function payloads(sse: string): string[] {
  return sse.split('\n\n').filter(Boolean).map((frame) => frame.replace(/^data: /, ''));
}

describe('the streamed Chat answer', () => {
  it('sends chunks as SSE data frames, the usage chunk, then data: [DONE]', async () => {
    const frames = payloads(await text(chatSseStream(eventsOf(TEXT_STREAM), OPTIONS)));
    expect(frames.at(-1)).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f) as Record<string, unknown>);
    expect(chunks[0]).toMatchObject({ choices: [{ delta: { role: 'assistant' } }] });
    expect(chunks.at(-2)).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: CHAT_USAGE });
  });

  it('gives the same frames whatever byte offset the network splits the upstream stream at', async () => {
    const bytes = new TextEncoder().encode(toSse(FULL_STREAM));
    const expected = await text(chatSseStream(new EventFeed(bytesOf([bytes])), OPTIONS));
    expect(payloads(expected).length).toBeGreaterThan(15);
    for (let at = 1; at < bytes.length; at++) {
      const split = [bytes.slice(0, at), bytes.slice(at)];
      const got = await text(chatSseStream(new EventFeed(bytesOf(split)), OPTIONS));
      // Cheap comparison first: a diff per offset would dominate the run time.
      if (got !== expected) expect(got, `split at byte ${at}`).toBe(expected);
    }
  }, 120_000);

  it('reads CRLF frames, comments and keep-alives like plain ones', async () => {
    const plain = await text(chatSseStream(new EventFeed(bytesOf([new TextEncoder().encode(toSse(FULL_STREAM))])), OPTIONS));
    const crlf = new TextEncoder().encode(toSse(FULL_STREAM, '\r\n'));
    const bytewise = Array.from(crlf, (b) => Uint8Array.of(b));
    expect(await text(chatSseStream(new EventFeed(bytesOf(bytewise)), OPTIONS))).toBe(plain);
  });

  it('sends the role chunk before the backend has said anything', async () => {
    const never = new EventFeed(new ReadableStream<Uint8Array>());
    const reader = chatSseStream(never, OPTIONS).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(first.replace(/^data: /, ''))).toMatchObject({ choices: [{ delta: { role: 'assistant', content: '' } }] });
    await reader.cancel();
  });

  it('sends keep-alive comments while the backend is silent, then carries on', async () => {
    const { feed, push } = pushedFeed();
    const reader = chatSseStream(feed, { ...OPTIONS, keepAliveMs: 5 }).getReader();
    const next = async () => new TextDecoder().decode((await reader.read()).value);
    expect(await next()).toMatch(/"role":"assistant"/);
    expect(await next()).toBe(': keep-alive\n\n');
    expect(await next()).toBe(': keep-alive\n\n');
    push(MESSAGE_EVENTS[2]!);
    let frame = await next();
    while (frame.startsWith(':')) frame = await next();
    expect(frame).toMatch(/"content":"Paris: 18°C ☀️, "/);
    await reader.cancel();
  });

  it('ends a truncated stream with one error frame and no [DONE], so clients do not take it for success', async () => {
    const upstream = eventsOf([...OPENING_EVENTS, ...MESSAGE_EVENTS.slice(0, 4)]);
    const frames = payloads(await text(chatSseStream(upstream, OPTIONS)));
    expect(frames).not.toContain('[DONE]');
    expect(JSON.parse(frames.at(-1)!)).toEqual({
      error: { message: expect.stringMatching(/stopped answering/), type: 'api_error', param: null, code: 'upstream_error' },
    });
  });

  it('ends with an error frame when reading the upstream fails midway', async () => {
    const upstream = eventsOf(TEXT_STREAM.slice(0, 6), new TypeError('Network connection lost.'));
    const frames = payloads(await text(chatSseStream(upstream, OPTIONS)));
    expect(JSON.parse(frames.at(-1)!).error.code).toBe('upstream_error');
  });

  it('reports a context overflow mid-stream as context_length_exceeded on messages', async () => {
    const upstream = eventsOf([...OPENING_EVENTS, failed('context_length_exceeded', 'Your input exceeds the context window.')]);
    const frames = payloads(await text(chatSseStream(upstream, OPTIONS)));
    expect(JSON.parse(frames.at(-1)!).error).toMatchObject({ code: 'context_length_exceeded', param: 'messages', type: 'invalid_request_error' });
  });

  it('stops reading upstream once a stop sequence ends the answer', async () => {
    const upstream = eventsOf(FULL_STREAM);
    const frames = payloads(await text(chatSseStream(upstream, { ...OPTIONS, stop: ['Zürich'] })));
    expect(frames.at(-1)).toBe('[DONE]');
    expect(upstream.state.cancelled).toBe(true);
  });

  it('cancels the upstream read when the client goes away', async () => {
    const upstream = eventsOf(FULL_STREAM);
    const reader = chatSseStream(upstream, OPTIONS).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(upstream.state.cancelled).toBe(true);
  });
});

describe('the aggregated Chat answer (stream:false)', () => {
  it('holds the text, reasoning, tool calls, finish_reason and usage of the whole stream', async () => {
    const completion = await collectChatCompletion(eventsOf(FULL_STREAM), OPTIONS);
    expect(completion).toEqual({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1764000000,
      model: 'gpt-5.5',
      system_fingerprint: null,
      choices: [{
        index: 0,
        message: {
          role: 'assistant',
          content: TEXT,
          refusal: null,
          reasoning_content: `${SUMMARY[0]}\n\n${SUMMARY[1]}`,
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: ARGS_A } },
            { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: ARGS_B } },
          ],
          annotations: [],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      }],
      usage: CHAT_USAGE,
    });
  });

  it('answers content null for a turn that only calls tools', async () => {
    const toolsOnly = FULL_STREAM.filter((e) => !String(e.type).includes('text') && (e.item as { type?: string } | undefined)?.type !== 'message');
    const completion = await collectChatCompletion(eventsOf(toolsOnly), OPTIONS);
    expect(completion.choices[0]?.message.content).toBeNull();
    expect(completion.choices[0]?.message.tool_calls).toHaveLength(2);
  });

  it('answers a legacy functions request with message.function_call', async () => {
    const completion = await collectChatCompletion(eventsOf(FULL_STREAM), { ...OPTIONS, legacyFunctions: true });
    expect(completion.choices[0]).toMatchObject({
      finish_reason: 'function_call',
      message: { content: TEXT, function_call: { name: 'get_weather', arguments: ARGS_A } },
    });
    expect(completion.choices[0]?.message).not.toHaveProperty('tool_calls');
  });

  it('throws an HTTP error instead of a partial answer for a failed or truncated stream', async () => {
    const tooLong = await rejection(collectChatCompletion(eventsOf([...OPENING_EVENTS, failed('context_length_exceeded', 'Too long.')]), OPTIONS));
    expect(tooLong).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages' });
    const cut = await rejection(collectChatCompletion(eventsOf(TEXT_STREAM.slice(0, -1)), OPTIONS));
    expect(cut).toMatchObject({ status: 502, code: 'upstream_error' });
  });
});

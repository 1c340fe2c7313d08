import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../worker/shared/errors.ts';
import { collectResponse, responsesSseStream } from '../../../worker/translate/responses-stream.ts';
import { EventFeed, type SseEvent } from '../../../worker/translate/sse.ts';
import { CALL_A, CALL_B, EVENTS, MESSAGE_ITEM, MESSAGE_TEXT, REASONING_ITEM, SSE_TEXT, toSseText, USAGE } from '../fixtures/codex-stream.ts';
import { rejection } from '../helpers/rejection.ts';
import { bytesOf, feedOf as eventsOf, parseSseStream, pushedFeed } from '../helpers/sse.ts';

const withoutTerminal = EVENTS.filter((e) => e.type !== 'response.completed');

async function framesOf(stream: ReadableStream<Uint8Array>): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const e of parseSseStream(stream)) events.push(e);
  return events;
}

describe('aggregating a stream for stream:false', () => {
  it('rebuilds output from the finished items, in order, with text and usage', async () => {
    const response = await collectResponse(eventsOf(EVENTS));
    expect(response).toMatchObject({ id: 'resp_abc', object: 'response', status: 'completed', model: 'gpt-5.5', usage: USAGE });
    expect(response.output).toEqual([REASONING_ITEM, MESSAGE_ITEM, CALL_A, CALL_B]);
    expect(response.output_text).toBe(MESSAGE_TEXT);
  });

  it('keeps the response object of response.created when the terminal event omits fields', async () => {
    const created = { type: 'response.created', response: { id: 'resp_1', object: 'response', created_at: 1764000000, model: 'gpt-5.5', status: 'in_progress', instructions: 'be brief', output: [] } };
    const completed = { type: 'response.completed', response: { id: 'resp_1', status: 'completed', usage: USAGE, output: [] } };
    const response = await collectResponse(eventsOf([created, completed]));
    expect(response).toMatchObject({ id: 'resp_1', created_at: 1764000000, model: 'gpt-5.5', instructions: 'be brief', status: 'completed', usage: USAGE });
    const frames = await framesOf(responsesSseStream(eventsOf([created, completed])));
    expect(frames.at(-1)?.data.response).toMatchObject({ id: 'resp_1', created_at: 1764000000, model: 'gpt-5.5', status: 'completed' });
  });

  it('keeps two parallel tool calls apart although both claim output_index 0', async () => {
    const response = await collectResponse(eventsOf(EVENTS));
    const calls = response.output.filter((item) => item.type === 'function_call');
    expect(calls.map((c) => [c.call_id, c.arguments])).toEqual([
      ['call_a', '{"city":"Paris"}'],
      ['call_b', '{"city":"Zürich"}'],
    ]);
  });

  it('returns an incomplete response with its reason and the partial text', async () => {
    const cutOff = [
      ...EVENTS.slice(0, 9),
      {
        type: 'response.incomplete',
        response: { id: 'resp_abc', object: 'response', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [] },
      },
    ];
    const response = await collectResponse(eventsOf(cutOff));
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output_text).toBe('Paris: 18°C ☀️, ');
    expect(response.output.at(-1)).toMatchObject({ id: 'msg_1', type: 'message', status: 'incomplete' });
  });

  it('throws the mapped error for response.failed (so the client gets a 400, not a 200)', async () => {
    const failed = [
      ...EVENTS.slice(0, 2),
      { type: 'response.failed', response: { id: 'resp_abc', status: 'failed', error: { code: 'context_length_exceeded', message: 'Too long' } } },
    ];
    expect(await rejection(collectResponse(eventsOf(failed)))).toMatchObject({ status: 400, code: 'context_length_exceeded' });
  });

  it('throws for a top-level error event', async () => {
    const err = await rejection(collectResponse(eventsOf([EVENTS[0]!, { type: 'error', code: 'server_error', message: 'oops' }])));
    expect(err).toMatchObject({ status: 502, code: 'upstream_error' });
  });

  it('throws a 502 for a stream that ends without a terminal event', async () => {
    expect(await rejection(collectResponse(eventsOf(withoutTerminal)))).toMatchObject({ status: 502, code: 'upstream_error' });
  });

  it('throws a 502 when reading the stream fails midway', async () => {
    const err = await rejection(collectResponse(eventsOf(EVENTS.slice(0, 5), new TypeError('Network connection lost.'))));
    expect(err).toMatchObject({ status: 502, code: 'upstream_error' });
    expect(err.detail).toMatch(/Network connection lost/);
  });
});

describe('streaming to a /v1/responses client', () => {
  it('forwards every Responses API event in order and ends with response.completed', async () => {
    const frames = await framesOf(responsesSseStream(eventsOf(EVENTS)));
    const forwarded = EVENTS.map((e) => String(e.type)).filter((t) => t !== 'codex.rate_limits' && t !== 'response.something_new');
    expect(frames.map((f) => f.type)).toEqual(forwarded);
    expect(frames.at(-1)?.type).toBe('response.completed');
  });

  it('fills the completed event’s empty output, so SDK helpers see the final items', async () => {
    const frames = await framesOf(responsesSseStream(eventsOf(EVENTS)));
    const completed = frames.at(-1)?.data.response as { output: unknown[]; usage: unknown };
    expect(completed.output).toEqual([REASONING_ITEM, MESSAGE_ITEM, CALL_A, CALL_B]);
    expect(completed.usage).toEqual(USAGE);
  });

  it('delivers each event before the next one exists upstream (no buffering)', async () => {
    const { feed, push } = pushedFeed();
    const reader = responsesSseStream(feed).getReader();
    push(EVENTS[0]!);
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: response.created\n/);
    push(EVENTS[1]!);
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^event: response.in_progress\n/);
    await reader.cancel();
  });

  it('ends a truncated stream with one error frame instead of hanging or pretending success', async () => {
    const frames = await framesOf(responsesSseStream(eventsOf(withoutTerminal)));
    const last = frames.at(-1)!;
    expect(last.type).toBe('error');
    expect(last.data).toMatchObject({ type: 'error', code: 'upstream_error', error: { code: 'upstream_error', type: 'api_error' } });
    expect(frames.filter((f) => f.type === 'error')).toHaveLength(1);
  });

  it('ends with an error frame when the upstream connection breaks midway', async () => {
    const errors: ApiError[] = [];
    const frames = await framesOf(
      responsesSseStream(eventsOf(EVENTS.slice(0, 5), new TypeError('Network connection lost.')), { onError: (e) => errors.push(e) }),
    );
    expect(frames.map((f) => f.type)).toEqual([...EVENTS.slice(0, 5).map((e) => e.type), 'response.failed', 'error']);
    expect(errors).toHaveLength(1);
  });

  it('reports a failure the backend did not as response.failed, the response and its items kept', async () => {
    const frames = await framesOf(responsesSseStream(eventsOf(withoutTerminal)));
    const failed = frames.at(-2)!;
    expect(failed.type).toBe('response.failed');
    const response = failed.data.response as { id: string; model: string; status: string; output: unknown[]; error: unknown };
    expect(response).toMatchObject({ id: 'resp_abc', model: 'gpt-5.5', status: 'failed' });
    expect(response.error).toMatchObject({ code: 'upstream_error', message: expect.stringMatching(/stopped answering/) });
    expect(response.output).toEqual([REASONING_ITEM, MESSAGE_ITEM, CALL_A, CALL_B]);
  });

  it('carries a mid-stream usage limit with its plan and reset time in both final events', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 600;
    const limit = { type: 'error', error: { type: 'usage_limit_reached', message: 'limit', plan_type: 'pro', resets_at: resetsAt } };
    const frames = await framesOf(responsesSseStream(eventsOf([EVENTS[0]!, limit])));
    expect(frames.map((f) => f.type)).toEqual(['response.created', 'response.failed', 'error']);
    const fields = { code: 'usage_limit_reached', plan_type: 'pro', resets_at: resetsAt };
    expect((frames[1]?.data.response as { error: unknown }).error).toMatchObject(fields);
    expect(frames[2]?.data.error).toMatchObject({ ...fields, type: 'usage_limit_reached' });
  });

  it('forwards response.failed, then one mapped error frame', async () => {
    const failed = [EVENTS[0]!, { type: 'response.failed', response: { error: { code: 'context_length_exceeded', message: 'Too long' } } }];
    const frames = await framesOf(responsesSseStream(eventsOf(failed)));
    expect(frames.map((f) => f.type)).toEqual(['response.created', 'response.failed', 'error']);
    expect(frames[2]?.data.error).toMatchObject({ code: 'context_length_exceeded', type: 'invalid_request_error' });
  });

  it('turns a top-level error event into the mapped error frame', async () => {
    const frames = await framesOf(responsesSseStream(eventsOf([EVENTS[0]!, { type: 'error', code: 'rate_limit_exceeded', message: 'try again in 2s' }])));
    expect(frames.map((f) => f.type)).toEqual(['response.created', 'response.failed', 'error']);
    expect(frames[2]?.data).toMatchObject({ code: 'rate_limit_exceeded', error: { type: 'rate_limit_error' } });
  });

  it('cancels the upstream read when the client goes away', async () => {
    const { feed, push, cancelled } = pushedFeed();
    push(EVENTS[0]!);
    const reader = responsesSseStream(feed).getReader();
    await reader.read();
    await reader.cancel('client disconnected');
    expect(cancelled()).toBe('client disconnected');
  });
});

describe('passing the backend’s bytes on', () => {
  const decoder = new TextDecoder();
  /** The upstream frames a client receives unchanged: every Responses API event but the terminal one. */
  const passedOn = (text: string) =>
    text.split(/(?<=\n\n)/).filter((frame) => /^event: response\.(?!completed)/.test(frame) && !frame.includes('something_new')).join('');

  it('sends every event it does not change exactly as upstream sent it, however the network split the stream', async () => {
    const upstream = new TextEncoder().encode(SSE_TEXT);
    const expected = passedOn(SSE_TEXT);
    for (let at = 1; at < upstream.length; at += 13) {
      const text = decoder.decode(await new Response(responsesSseStream(new EventFeed(bytesOf([upstream.slice(0, at), upstream.slice(at)])))).arrayBuffer());
      const completed = text.lastIndexOf('event: response.completed\n');
      if (text.slice(0, completed) !== expected) expect(text.slice(0, completed), `split at ${at}`).toBe(expected);
      expect(JSON.parse(text.slice(completed).split('\ndata: ')[1]!).response.output).toEqual([REASONING_ITEM, MESSAGE_ITEM, CALL_A, CALL_B]);
    }
  });

  it('keeps upstream’s own spelling of an event it passes on (field order, spacing, escapes)', async () => {
    const created = 'event: response.created\ndata:{"response":{"id":"resp_1","output":[]},"type":"response.created","note":"\\u00e9"}\n\n';
    const delta = 'event: response.output_text.delta\r\ndata: {"type":"response.output_text.delta","item_id":"m","delta":"hi"}\r\n\r\n';
    const completed = toSseText([{ type: 'response.completed', response: { id: 'resp_1', status: 'completed', output: [] } }]).replace(/^: keep-alive\n\n/m, '');
    const body = bytesOf([created, delta, completed].map((t) => new TextEncoder().encode(t)));
    const text = await new Response(responsesSseStream(new EventFeed(body))).text();
    expect(text.startsWith(created + delta)).toBe(true);
    expect(text.slice(created.length + delta.length)).toMatch(/^event: response\.completed\ndata: /);
  });

  it('still ends a failed stream with response.failed (its output rebuilt) and an error frame', async () => {
    const upstream = new TextEncoder().encode(toSseText(withoutTerminal));
    const frames: SseEvent[] = [];
    for await (const e of parseSseStream(responsesSseStream(new EventFeed(bytesOf([upstream]))))) frames.push(e);
    expect(frames.map((f) => f.type).slice(-2)).toEqual(['response.failed', 'error']);
    expect((frames.at(-2)?.data.response as { output: unknown[] }).output).toEqual([REASONING_ITEM, MESSAGE_ITEM, CALL_A, CALL_B]);
  });

  it('ends the stream with an error when an event it would pass on is not JSON', async () => {
    const bad = 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",\n\n';
    const body = bytesOf([toSseText(EVENTS.slice(0, 2)), bad].map((t) => new TextEncoder().encode(t)));
    const frames: SseEvent[] = [];
    for await (const e of parseSseStream(responsesSseStream(new EventFeed(body)))) frames.push(e);
    expect(frames.map((f) => f.type)).toEqual(['response.created', 'response.in_progress', 'response.failed', 'error']);
    expect(frames.at(-1)?.data).toMatchObject({ code: 'upstream_error' });
  });
});

import { describe, expect, it } from 'vitest';
import { encodeSseFrame, encodeSseRaw, parseSseStream, SseFormatError, type SseEvent } from '../../../worker/translate/sse.ts';
import { EVENTS, SSE_TEXT, toSseText } from '../fixtures/codex-stream.ts';

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<SseEvent>): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const bytes = new TextEncoder().encode(SSE_TEXT);
const expected = EVENTS.map((data) => ({ type: data.type, data }));
const expectedJson = JSON.stringify(expected);

describe('SSE parsing', () => {
  it('reads every event of a realistic Codex stream, unknown types included', async () => {
    const events = await collect(parseSseStream(streamOf([bytes])));
    expect(events).toEqual(expected);
    expect(events.map((e) => e.type)).toContain('codex.rate_limits');
  });

  it('gives identical events whatever byte offset the network splits the stream at', async () => {
    for (let at = 1; at < bytes.length; at++) {
      const events = await collect(parseSseStream(streamOf([bytes.slice(0, at), bytes.slice(at)])));
      // Cheap comparison first: a deep-equal per offset would dominate the run time.
      if (JSON.stringify(events) !== expectedJson) expect(events, `split at byte ${at}`).toEqual(expected);
    }
  }, 120_000);

  it('copes with a stream delivered one byte at a time (multi-byte characters split)', async () => {
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(await collect(parseSseStream(streamOf(chunks)))).toEqual(expected);
  });

  it('reads CRLF line endings and skips comments', async () => {
    const crlf = new TextEncoder().encode(toSseText(EVENTS, '\r\n'));
    expect(await collect(parseSseStream(streamOf([crlf])))).toEqual(expected);
  });

  it('joins multi-line data fields and falls back to the event name without data.type', async () => {
    const text = 'event: ping\ndata: {"a":\ndata: 1}\n\n';
    const events = await collect(parseSseStream(streamOf([new TextEncoder().encode(text)])));
    expect(events).toEqual([{ type: 'ping', data: { a: 1 } }]);
  });

  it('ignores a [DONE] sentinel', async () => {
    const text = 'data: {"type":"x"}\n\ndata: [DONE]\n\n';
    expect(await collect(parseSseStream(streamOf([new TextEncoder().encode(text)])))).toEqual([
      { type: 'x', data: { type: 'x' } },
    ]);
  });

  it('turns a frame with invalid JSON into a stream error, after the good events before it', async () => {
    const text = 'data: {"type":"a"}\n\ndata: {not json\n\ndata: {"type":"b"}\n\n';
    const reader = parseSseStream(streamOf([new TextEncoder().encode(text)])).getReader();
    expect(await reader.read()).toEqual({ done: false, value: { type: 'a', data: { type: 'a' } } });
    await expect(reader.read()).rejects.toBeInstanceOf(SseFormatError);
  });

  it('drops a last frame that was cut off before its blank line', async () => {
    const text = 'data: {"type":"a"}\n\ndata: {"type":"b"}';
    const events = await collect(parseSseStream(streamOf([new TextEncoder().encode(text)])));
    expect(events.map((e) => e.type)).toEqual(['a']);
  });
});

describe('SSE encoding', () => {
  it('frames an event with its name and one JSON data line', () => {
    const frame = new TextDecoder().decode(encodeSseFrame({ type: 'x', text: 'a\nb' }, 'x'));
    expect(frame).toBe('event: x\ndata: {"type":"x","text":"a\\nb"}\n\n');
  });

  it('frames data without an event name, and raw sentinels', () => {
    expect(new TextDecoder().decode(encodeSseFrame({ a: 1 }))).toBe('data: {"a":1}\n\n');
    expect(new TextDecoder().decode(encodeSseRaw('[DONE]'))).toBe('data: [DONE]\n\n');
  });
});

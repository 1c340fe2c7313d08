import { describe, expect, it } from 'vitest';
import { encodeSseFrame, encodeSseRaw, EventFeed, SseFormatError, SseFramer, type SseEvent } from '../../../worker/translate/sse.ts';
import { EVENTS, SSE_TEXT, toSseText } from '../fixtures/codex-stream.ts';
import { bytesOf } from '../helpers/sse.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Every event of `chunks`, read through a feed, as plain {type, data}. */
async function collect(chunks: Uint8Array[]): Promise<{ type: string; data: unknown }[]> {
  return (await rawEvents(chunks)).map((e) => ({ type: e.type, data: e.data }));
}

async function rawEvents(chunks: Uint8Array[]): Promise<SseEvent[]> {
  const feed = new EventFeed(bytesOf(chunks));
  const events: SseEvent[] = [];
  for (let batch = await feed.read(); batch !== null; batch = await feed.read()) events.push(...batch);
  return events;
}

const bytes = encoder.encode(SSE_TEXT);
const expected = EVENTS.map((data) => ({ type: data.type, data }));
const expectedJson = JSON.stringify(expected);

describe('SSE parsing', () => {
  it('reads every event of a realistic Codex stream, unknown types included', async () => {
    const events = await collect([bytes]);
    expect(events).toEqual(expected);
    expect(events.map((e) => e.type)).toContain('codex.rate_limits');
  });

  it('gives identical events whatever byte offset the network splits the stream at', async () => {
    for (let at = 1; at < bytes.length; at++) {
      const events = await collect([bytes.slice(0, at), bytes.slice(at)]);
      // Cheap comparison first: a deep-equal per offset would dominate the run time.
      if (JSON.stringify(events) !== expectedJson) expect(events, `split at byte ${at}`).toEqual(expected);
    }
  }, 120_000);

  it('copes with a stream delivered one byte at a time (multi-byte characters split)', async () => {
    expect(await collect(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(expected);
  });

  it('reads CRLF and CR line endings, split anywhere, and skips comments', async () => {
    for (const newline of ['\r\n', '\r']) {
      const text = encoder.encode(toSseText(EVENTS, newline));
      expect(await collect([text])).toEqual(expected);
      for (let at = 1; at < text.length; at += 7) {
        const events = await collect([text.slice(0, at), text.slice(at)]);
        if (JSON.stringify(events) !== expectedJson) expect(events, `${JSON.stringify(newline)} split at ${at}`).toEqual(expected);
      }
    }
  });

  it('keeps each event’s bytes exactly as upstream sent them, however the stream was split', async () => {
    const frames = SSE_TEXT.split(/(?<=\n\n)/).filter((frame) => !frame.startsWith(':'));
    for (const chunks of [[bytes], Array.from(bytes, (b) => Uint8Array.of(b)), [bytes.slice(0, 333), bytes.slice(333)]]) {
      expect((await rawEvents(chunks)).map((e) => decoder.decode(e.raw))).toEqual(frames);
    }
  });

  it('hands out the events of each network chunk as that chunk arrives', async () => {
    const [first, second] = EVENTS.slice(0, 2).map((e) => encoder.encode(toSseText([e]).replace(/^: keep-alive\n\n/m, '')));
    const feed = new EventFeed(bytesOf([first!, second!]));
    expect((await feed.read())?.map((e) => e.type)).toEqual(['response.created']);
    expect((await feed.read())?.map((e) => e.type)).toEqual(['response.in_progress']);
    expect(await feed.read()).toBeNull();
  });

  it('joins multi-line data fields and falls back to data.type, then the event name', async () => {
    const text = 'event: ping\ndata: {"a":\ndata: 1}\n\ndata: {"type":"x"}\n\n';
    expect(await collect([encoder.encode(text)])).toEqual([
      { type: 'ping', data: { a: 1 } },
      { type: 'x', data: { type: 'x' } },
    ]);
  });

  it('ignores a [DONE] sentinel', async () => {
    const text = 'data: {"type":"x"}\n\ndata: [DONE]\n\n';
    expect(await collect([encoder.encode(text)])).toEqual([{ type: 'x', data: { type: 'x' } }]);
  });

  it('fails on a frame with invalid JSON when its data is read, after the good events before it', async () => {
    const text = 'event: a\ndata: {"type":"a"}\n\nevent: b\ndata: {not json\n\n';
    const [good, bad] = await rawEvents([encoder.encode(text)]);
    expect(good?.data).toEqual({ type: 'a' });
    expect(bad?.type).toBe('b');
    expect(() => bad?.data).toThrow(SseFormatError);
  });

  it('drops a last frame that was cut off before its blank line', async () => {
    const text = 'data: {"type":"a"}\n\ndata: {"type":"b"}';
    expect((await collect([encoder.encode(text)])).map((e) => e.type)).toEqual(['a']);
  });

  it('refuses a frame that never ends instead of buffering without bound', () => {
    const framer = new SseFramer();
    const big = new Uint8Array(1024 * 1024).fill(0x78);
    expect(() => {
      for (let i = 0; i < 17; i++) framer.push(big);
    }).toThrow(SseFormatError);
  });

  it('ends a read that waits longer than the idle limit with its error, and cancels the body', async () => {
    let cancelled: unknown = null;
    const silent = new ReadableStream<Uint8Array>({
      cancel(reason) {
        cancelled = reason;
      },
    });
    const stalled = new Error('stalled');
    const feed = new EventFeed(silent, { ms: 20, error: () => stalled });
    await expect(feed.read()).rejects.toBe(stalled);
    expect(cancelled).toBe(stalled);
  });
});

describe('SSE encoding', () => {
  it('frames an event with its name and one JSON data line', () => {
    const frame = decoder.decode(encodeSseFrame({ type: 'x', text: 'a\nb' }, 'x'));
    expect(frame).toBe('event: x\ndata: {"type":"x","text":"a\\nb"}\n\n');
  });

  it('frames data without an event name, and raw sentinels', () => {
    expect(decoder.decode(encodeSseFrame({ a: 1 }))).toBe('data: {"a":1}\n\n');
    expect(decoder.decode(encodeSseRaw('[DONE]'))).toBe('data: [DONE]\n\n');
  });
});

/**
 * Upstream event feeds for translator tests, built the way the Worker builds them: from SSE bytes
 * (one event per chunk, as the backend sends them), read through the real EventFeed.
 */
import { EventFeed, type SseEvent } from '../../../worker/translate/sse.ts';

const encoder = new TextEncoder();

/** One event as the backend frames it: `event: <type>` and one `data:` line. */
export function frameOf(data: Record<string, unknown>): Uint8Array {
  return encoder.encode(`event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** An SseEvent as the feed would hand it out, for translators driven one event at a time. */
export function eventOf(data: Record<string, unknown>): SseEvent {
  return { type: String(data.type), data, raw: frameOf(data) };
}

/** A byte stream handing out `chunks` one read at a time, then ending (or failing, like a dropped connection); counts cancels. */
export function bytesOf(chunks: Uint8Array[], tail?: Error): ReadableStream<Uint8Array> & { state: { cancelled: boolean } } {
  let at = 0;
  const state = { cancelled: false };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[at++];
        if (chunk) controller.enqueue(chunk);
        else if (tail) controller.error(tail);
        else controller.close();
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return Object.assign(stream, { state });
}

/** A feed of `events`, one per network chunk; `state.cancelled` tells whether the upstream read was cancelled. */
export function feedOf(events: Record<string, unknown>[], tail?: Error): EventFeed & { state: { cancelled: boolean } } {
  const body = bytesOf(events.map(frameOf), tail);
  return Object.assign(new EventFeed(body), { state: body.state });
}

/** A feed the test writes to: `push` sends one event as one chunk. */
export function pushedFeed(): { feed: EventFeed; push: (data: Record<string, unknown>) => void; cancelled: () => unknown } {
  let push!: (data: Record<string, unknown>) => void;
  let cancelled: unknown = null;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (data) => controller.enqueue(frameOf(data));
    },
    cancel(reason) {
      cancelled = reason ?? 'cancelled';
    },
  });
  return { feed: new EventFeed(body), push: (data) => push(data), cancelled: () => cancelled };
}

/** Every event of an SSE body (a client's view of our answer), as a stream. */
export function parseSseStream(body: ReadableStream<Uint8Array>): ReadableStream<SseEvent> {
  const feed = new EventFeed(body);
  return new ReadableStream<SseEvent>({
    async pull(controller) {
      for (;;) {
        const events = await feed.read();
        if (events === null) return controller.close();
        for (const event of events) controller.enqueue(event);
        if (events.length > 0) return;
      }
    },
    cancel(reason) {
      return feed.cancel(reason);
    },
  });
}

/** Every event of an SSE body, read to its end. */
export async function readEvents(body: ReadableStream<Uint8Array>): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of parseSseStream(body)) events.push(event);
  return events;
}

/** Every event a feed hands out until its end; `error` is what ended it early (null at a clean end). */
export async function drainFeed(feed: EventFeed): Promise<{ events: SseEvent[]; error: unknown }> {
  const events: SseEvent[] = [];
  try {
    for (let batch = await feed.read(); batch !== null; batch = await feed.read()) events.push(...batch);
    return { events, error: null };
  } catch (error) {
    return { events, error };
  }
}

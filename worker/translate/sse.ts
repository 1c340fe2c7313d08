/**
 * Server-sent events, both ways: reading the Codex backend's byte stream as events, and encoding
 * frames for our clients.
 *
 * Reading is one step per network chunk, with no stream stage of its own: the backend sends about
 * one event per chunk, and in workerd each JS stream stage a chunk crosses costs more than
 * parsing the event (docs/architecture.md, "Streaming cost"). So the consumer pulls the upstream
 * body through an EventFeed, which splits it into frames at the byte level (each event keeps the
 * exact bytes upstream sent, for pass-through) and parses an event's JSON only when it is read.
 */

/** One upstream event: `type` is the SSE event name (the backend's equals `data.type`), else `data.type`. */
export interface SseEvent {
  readonly type: string;
  /** The parsed JSON object; reading it throws SseFormatError when the frame's data is not one. */
  readonly data: Record<string, unknown>;
  /** The frame exactly as upstream sent it, blank line included: what a pass-through forwards. */
  readonly raw: Uint8Array;
}

/** Watches events as the feed hands them out (rate limits, what the answer leaves). */
export type EventTap = (event: SseEvent) => void;

/** How a feed ended: its body finished, it failed (broke, stalled, bad frame, a tap threw), or its reader cancelled it. */
export type FeedEnd = 'closed' | 'errored' | 'cancelled';

/** The upstream sent something that is not an SSE stream of JSON objects. */
export class SseFormatError extends Error {
  override name = 'SseFormatError';
}

/** Largest single frame we buffer (bytes). A reasoning item with encrypted content is far below. */
export const MAX_SSE_FRAME_CHARS = 16 * 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder();

function parseJson(text: string, eventName: string | undefined): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new SseFormatError(`an event${eventName ? ` "${eventName}"` : ''} carried data that is not JSON`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SseFormatError('an event carried JSON that is not an object');
  }
  return data as Record<string, unknown>;
}

class FrameEvent implements SseEvent {
  readonly type: string;
  readonly raw: Uint8Array;
  readonly #text: string;
  readonly #name: string | undefined;
  #data: Record<string, unknown> | undefined;

  constructor(raw: Uint8Array, text: string, name: string | undefined) {
    this.raw = raw;
    this.#text = text;
    this.#name = name;
    if (name) this.type = name;
    else {
      const type = this.data.type;
      this.type = typeof type === 'string' ? type : 'message';
    }
  }

  get data(): Record<string, unknown> {
    return (this.#data ??= parseJson(this.#text, this.#name));
  }
}

/** The event a complete frame carries: null for comments, frames without data and `[DONE]`. */
function eventOf(raw: Uint8Array): SseEvent | null {
  let name: string | undefined;
  let data: string | null = null;
  for (const line of decoder.decode(raw).split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data = data === null ? value : `${data}\n${value}`;
    else if (field === 'event') name = value;
  }
  // Some OpenAI-style streams end with a `[DONE]` sentinel; it carries no event.
  if (data === null || data.trim() === '[DONE]') return null;
  return new FrameEvent(raw, data, name);
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * Splits an SSE byte stream into frames at blank lines (LF, CRLF or CR line ends), whatever byte
 * offsets the network splits it at. A frame is cut only at line-end bytes, so a multi-byte
 * character is never cut; a frame that arrives whole in one chunk is a view of it, not a copy.
 */
export class SseFramer {
  /** Bytes of the frame in progress, from earlier chunks. */
  #pending: Uint8Array[] = [];
  #pendingSize = 0;
  #atLineStart = true;
  #afterCr = false;

  /** The events completed by `chunk`, in order. Throws SseFormatError for a frame over MAX_SSE_FRAME_CHARS. */
  push(chunk: Uint8Array): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === LF && this.#afterCr) {
        // The LF of a CRLF: the line already ended at the CR.
        this.#afterCr = false;
        if (i === start && this.#pendingSize === 0) start = i + 1;
        continue;
      }
      this.#afterCr = byte === CR;
      if (byte !== LF && byte !== CR) {
        this.#atLineStart = false;
        continue;
      }
      if (!this.#atLineStart) {
        this.#atLineStart = true;
        continue;
      }
      // A blank line: the frame ends here (a CRLF's LF, if next, is taken into it).
      let end = i + 1;
      if (byte === CR && chunk[end] === LF) {
        end++;
        i++;
        this.#afterCr = false;
      }
      const event = this.#frame(chunk.subarray(start, end));
      if (event) events.push(event);
      start = end;
    }
    if (start < chunk.length) {
      this.#pending.push(chunk.subarray(start));
      this.#pendingSize += chunk.length - start;
      if (this.#pendingSize > MAX_SSE_FRAME_CHARS) throw new SseFormatError(`an event is larger than ${MAX_SSE_FRAME_CHARS} bytes`);
    }
    return events;
  }

  #frame(tail: Uint8Array): SseEvent | null {
    if (this.#pendingSize === 0) return eventOf(tail);
    const raw = concat([...this.#pending, tail], this.#pendingSize + tail.byteLength);
    this.#pending = [];
    this.#pendingSize = 0;
    return eventOf(raw);
  }
}

/** How long a read may wait for the next upstream chunk, and the error that ends the stream then. */
export interface IdleLimit {
  ms: number;
  error: () => Error;
}

/**
 * The upstream events, pulled one network chunk at a time by whoever answers the client (the
 * stream pump). `read` resolves with the events that chunk completed (often exactly one, maybe
 * none) or null at the end of the body; it rejects when the body breaks, stalls past the idle
 * limit, or a tap throws. Cancelling cancels the body, and so the upstream request.
 */
export class EventFeed {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #framer = new SseFramer();
  readonly #taps: EventTap[] = [];
  readonly #endListeners: ((how: FeedEnd) => void)[] = [];
  #ended = false;
  readonly #idle: IdleLimit | undefined;
  /** When the read in flight started (null between reads): the idle clock runs only then. */
  #waitingSince: number | null = null;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #stalled: Error | null = null;

  constructor(body: ReadableStream<Uint8Array>, idle?: IdleLimit) {
    this.#reader = body.getReader();
    this.#idle = idle;
  }

  /** Adds a tap; taps see every event, in order, before the consumer does. */
  observe(tap: EventTap): void {
    this.#taps.push(tap);
  }

  /** Calls `listener` once, when the feed ends, however it ends. */
  onEnd(listener: (how: FeedEnd) => void): void {
    this.#endListeners.push(listener);
  }

  async read(): Promise<SseEvent[] | null> {
    try {
      const result = await this.#next();
      if (result.done) {
        clearTimeout(this.#watchdog);
        this.#end('closed');
        return null;
      }
      const events = this.#framer.push(result.value);
      for (const event of events) for (const tap of this.#taps) tap(event);
      return events;
    } catch (err) {
      this.#end('errored');
      throw err;
    }
  }

  cancel(reason?: unknown): Promise<void> {
    clearTimeout(this.#watchdog);
    this.#end('cancelled');
    return this.#reader.cancel(reason);
  }

  #end(how: FeedEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const listener of this.#endListeners) listener(how);
  }

  /**
   * The next chunk. The idle clock runs only while we wait on upstream (nothing is read ahead),
   * so a slow client never counts, and keep-alives sent downstream cannot hide a stalled backend.
   */
  async #next(): ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> {
    if (!this.#idle) return this.#reader.read();
    this.#waitingSince = Date.now();
    if (this.#watchdog === undefined) this.#arm(this.#idle.ms);
    try {
      const result = await this.#reader.read();
      if (this.#stalled) throw this.#stalled;
      return result;
    } catch (err) {
      clearTimeout(this.#watchdog);
      // A cancelled fetch body may reject the pending read with an error of its own.
      throw this.#stalled ?? err;
    } finally {
      this.#waitingSince = null;
    }
  }

  /**
   * One timer per stream, not one per read (a timer per chunk costs more than parsing the event):
   * when it fires it ends a read that has waited the whole limit, or sleeps for what is left.
   */
  #arm(delay: number): void {
    this.#watchdog = setTimeout(() => {
      const { ms, error } = this.#idle!;
      const waited = this.#waitingSince === null ? 0 : Date.now() - this.#waitingSince;
      if (waited < ms) return this.#arm(this.#waitingSince === null ? ms : ms - waited);
      this.#stalled = error();
      this.#reader.cancel(this.#stalled).catch(() => {});
    }, delay);
  }
}

const encoder = new TextEncoder();

/** One SSE frame: `event: <name>` (when given), `data: <json>`, blank line. */
export function encodeSseFrame(data: unknown, eventName?: string): Uint8Array {
  // JSON.stringify never emits a raw newline, so one `data:` line is always enough.
  const head = eventName ? `event: ${eventName}\n` : '';
  return encoder.encode(`${head}data: ${JSON.stringify(data)}\n\n`);
}

/** A literal data frame such as `data: [DONE]` (Chat Completions' end marker). */
export function encodeSseRaw(data: string): Uint8Array {
  return encoder.encode(`data: ${data}\n\n`);
}

/** Headers for an SSE response to a client. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // Asks nginx-style proxies in front of a self-hosted deployment not to buffer the stream.
  'x-accel-buffering': 'no',
};

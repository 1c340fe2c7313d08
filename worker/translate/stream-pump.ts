/**
 * Reading the upstream events to their end, for every endpoint: streamed to the client as SSE
 * (`pumpEvents`) or read whole for a `stream:false` answer (`drainEvents`). Both report a stream
 * that breaks or ends before a terminal event as an error — never a hang and never a silent
 * success — and both cancel the upstream read (so the upstream request) when done.
 *
 * The pump is the only JS stream stage between the upstream body and the client: it pulls the
 * EventFeed itself and sends what one upstream chunk means as one chunk.
 */
import { ApiError, toApiError } from '../shared/errors.ts';
import { SseFormatError, type EventFeed, type SseEvent } from './sse.ts';
import { streamEndedEarlyError } from '../upstream/error-mapping.ts';

/** What one upstream event means for the client. */
export interface PumpStep {
  frames: Uint8Array[];
  /** The answer is complete after these frames. */
  done?: boolean;
  /** The answer failed: these frames, then the error frame, then the end. */
  error?: ApiError;
}

export interface PumpOptions {
  /** Frames sent before the first upstream event (e.g. Chat's role chunk). */
  first?: Uint8Array[];
  /** Turns one upstream event into frames; may throw an ApiError to fail the stream. */
  step: (event: SseEvent) => PumpStep;
  /** The final frame for a failure. */
  errorFrame: (err: ApiError) => Uint8Array;
  /** Told about the error sent as the final frame (for logs). */
  onError?: (err: ApiError) => void;
  /** How often an SSE comment is sent while nothing else is (default KEEP_ALIVE_MS). */
  keepAliveMs?: number;
}

/**
 * While the model reasons the backend can stay silent for minutes; a comment line now and then
 * keeps proxies and clients with idle timeouts from cutting the stream (SSE parsers skip it).
 */
export const KEEP_ALIVE_MS = 15_000;
const KEEP_ALIVE_FRAME = new TextEncoder().encode(': keep-alive\n\n');

/** The error a broken read of the upstream stream (or an event that is not JSON) means. */
function readFailure(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const what = err instanceof SseFormatError ? 'malformed event' : 'read failed';
  return streamEndedEarlyError(`${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
}

const endedEarly = () => streamEndedEarlyError('upstream stream ended without a terminal event');

function concat(frames: Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0]!;
  const out = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.byteLength;
  }
  return out;
}

type Outcome = { frames: Uint8Array[]; end: ApiError | 'done' | null };

/** Steps through the events of one upstream chunk, stopping at the first that ends the answer. */
function stepAll(events: SseEvent[], step: PumpOptions['step']): Outcome {
  const frames: Uint8Array[] = [];
  for (const event of events) {
    let result: PumpStep;
    try {
      result = step(event);
    } catch (err) {
      return { frames, end: err instanceof SseFormatError ? readFailure(err) : toApiError(err) };
    }
    for (const frame of result.frames) frames.push(frame);
    if (result.error) return { frames, end: result.error };
    if (result.done) return { frames, end: 'done' };
  }
  return { frames, end: null };
}

/**
 * Streams frames to the client as upstream events arrive (pull-based: nothing is read ahead of
 * the client). Cancelling (client gone) cancels the upstream read.
 */
export function pumpEvents(feed: EventFeed, options: PumpOptions): ReadableStream<Uint8Array> {
  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  // Set when the client went away: a read still in flight then ends quietly (nobody to tell).
  let cancelled = false;
  // One timer per stream rather than one per read: the read path stays as cheap as it can be.
  let quiet = true;
  let keepAlive: ReturnType<typeof setInterval> | undefined;

  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, err: ApiError | null) => {
    clearInterval(keepAlive);
    if (cancelled) return;
    if (err) {
      options.onError?.(err);
      controller.enqueue(options.errorFrame(err));
    }
    controller.close();
    feed.cancel().catch(() => {});
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const frame of options.first ?? []) controller.enqueue(frame);
      keepAlive = setInterval(() => {
        if (quiet) controller.enqueue(KEEP_ALIVE_FRAME);
        quiet = true;
      }, keepAliveMs);
    },
    async pull(controller) {
      for (;;) {
        const events = await feed.read().catch(readFailure);
        if (cancelled) return;
        if (events instanceof ApiError) return finish(controller, events);
        if (events === null) return finish(controller, endedEarly());
        const { frames, end } = stepAll(events, options.step);
        if (frames.length > 0) {
          controller.enqueue(concat(frames));
          quiet = false;
        }
        if (end) return finish(controller, end === 'done' ? null : end);
        if (frames.length > 0) return;
      }
    },
    cancel(reason) {
      clearInterval(keepAlive);
      cancelled = true;
      return feed.cancel(reason);
    },
  });
}

/**
 * Reads events until `visit` says the answer is complete. Throws an ApiError when `visit` does,
 * or when the stream breaks or ends first (so a `stream:false` client gets an HTTP error status).
 */
export async function drainEvents(feed: EventFeed, visit: (event: SseEvent) => boolean): Promise<void> {
  try {
    for (;;) {
      const events = await feed.read().catch((err: unknown) => {
        throw readFailure(err);
      });
      if (events === null) throw endedEarly();
      for (const event of events) {
        let complete: boolean;
        try {
          complete = visit(event);
        } catch (err) {
          throw err instanceof SseFormatError ? readFailure(err) : err;
        }
        if (complete) return;
      }
    }
  } finally {
    feed.cancel().catch(() => {});
  }
}

/**
 * Reading the upstream event stream to its end, for every endpoint: streamed to the client as
 * SSE (`pumpEvents`) or read whole for a `stream:false` answer (`drainEvents`). Both report a
 * stream that breaks or ends before a terminal event as an error — never a hang and never a
 * silent success — and both cancel the upstream read (so the upstream request) when done.
 */
import { ApiError, toApiError } from '../shared/errors.ts';
import { SseFormatError, type SseEvent } from './sse.ts';
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

/** The error a broken read of the upstream stream means. */
function readFailure(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const what = err instanceof SseFormatError ? 'malformed event' : 'read failed';
  return streamEndedEarlyError(`${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
}

const endedEarly = () => streamEndedEarlyError('upstream stream ended without a terminal event');

/**
 * Streams frames to the client as upstream events arrive (pull-based: nothing is read ahead of
 * the client). Cancelling (client gone) cancels the upstream read.
 */
export function pumpEvents(events: ReadableStream<SseEvent>, options: PumpOptions): ReadableStream<Uint8Array> {
  const reader = events.getReader();
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
    reader.cancel().catch(() => {});
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
        const result = await reader.read().catch(readFailure);
        if (cancelled) return;
        if (result instanceof ApiError) return finish(controller, result);
        if (result.done) return finish(controller, endedEarly());
        let step: PumpStep;
        try {
          step = options.step(result.value);
        } catch (err) {
          return finish(controller, toApiError(err));
        }
        for (const frame of step.frames) controller.enqueue(frame);
        if (step.frames.length > 0) quiet = false;
        if (step.error) return finish(controller, step.error);
        if (step.done) return finish(controller, null);
        if (step.frames.length > 0) return;
      }
    },
    cancel(reason) {
      clearInterval(keepAlive);
      cancelled = true;
      return reader.cancel(reason);
    },
  });
}

/**
 * Reads events until `visit` says the answer is complete. Throws an ApiError when `visit` does,
 * or when the stream breaks or ends first (so a `stream:false` client gets an HTTP error status).
 */
export async function drainEvents(events: ReadableStream<SseEvent>, visit: (event: SseEvent) => boolean): Promise<void> {
  const reader = events.getReader();
  try {
    for (;;) {
      const result = await reader.read().catch((err: unknown) => {
        throw readFailure(err);
      });
      if (result.done) throw endedEarly();
      if (visit(result.value)) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

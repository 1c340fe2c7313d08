/**
 * Timing and stream helpers the translation benchmarks share: replaying a body that was made
 * up front (so a run times the translation, not the producing of bytes), draining what comes
 * out, and the figures' median.
 */
import type { EventFeed } from '../../worker/translate/sse.ts';

/** The chunks again, one read at a time, as a fresh upstream body. */
export function replay(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      const chunk = chunks[at++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

/** Parses every event's JSON, as a translator would. */
export async function drainFeed(feed: EventFeed): Promise<void> {
  for (let batch = await feed.read(); batch !== null; batch = await feed.read()) for (const event of batch) void event.data;
}

/** Reads a stream to its end, discarding what it gives. */
export async function drainStream(stream: ReadableStream<unknown>): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}

/** Milliseconds `run` took. */
export async function timeIt(run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
export const fixed = (n: number, digits = 1) => n.toFixed(digits);

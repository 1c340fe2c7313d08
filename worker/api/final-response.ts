/**
 * The one place where what an answer ends with is observed, on every surface (Chat Completions
 * and Responses, streamed or not): each observer is handed the final response object once, when
 * the upstream terminal event (`response.completed`, `response.incomplete` or `response.failed`)
 * passes, with `output` rebuilt from the finished items and `usage` as the backend sent it.
 * Continuity (api/continuity.ts) keeps turns through it; anything else that needs the final
 * response (usage accounting) is one more observer in the list the routes pass here.
 */
import { finalResponseTap, type FinalResponse } from '../translate/responses-stream.ts';
import type { EventFeed } from '../translate/sse.ts';

export type FinalResponseObserver = (final: FinalResponse) => void;

/** Registers `observers` (nulls skipped) on the upstream events; one that throws is logged and never breaks the answer. */
export function observeFinalResponse(feed: EventFeed, observers: readonly (FinalResponseObserver | null)[]): void {
  const active = observers.filter((observer): observer is FinalResponseObserver => observer !== null);
  if (active.length === 0) return;
  feed.observe(
    finalResponseTap((final) => {
      for (const observe of active) {
        try {
          observe(final);
        } catch (err) {
          console.error(JSON.stringify({ event: 'final_response_observer_failed', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }));
        }
      }
    }),
  );
}

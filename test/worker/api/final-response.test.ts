import { describe, expect, it } from 'vitest';
import { observeFinalResponse } from '../../../worker/api/final-response.ts';
import type { FinalResponse } from '../../../worker/translate/responses-stream.ts';
import { CALL_A, CALL_B, EVENTS, MESSAGE_ITEM, REASONING_ITEM, USAGE } from '../fixtures/codex-stream.ts';
import { drainFeed, feedOf } from '../helpers/sse.ts';

describe('observers of the final response', () => {
  it('hand every observer the final response once, output rebuilt and usage kept, and survive one that throws', async () => {
    const seen: FinalResponse[] = [];
    const feed = feedOf(EVENTS);
    observeFinalResponse(feed, [
      () => {
        throw new Error('observer bug');
      },
      null,
      (final) => seen.push(final),
    ]);
    const { events, error } = await drainFeed(feed);
    expect(error).toBeNull();
    expect(events.at(-1)?.type).toBe('response.completed');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.type).toBe('response.completed');
    expect(seen[0]?.response).toMatchObject({ id: 'resp_abc', status: 'completed', usage: USAGE });
    expect(seen[0]?.response.output).toEqual([REASONING_ITEM, MESSAGE_ITEM, CALL_A, CALL_B]);
  });

  it('report a failed answer as response.failed with its error', async () => {
    const failed = { type: 'response.failed', response: { id: 'resp_abc', status: 'failed', error: { code: 'server_error', message: 'boom' } } };
    const seen: FinalResponse[] = [];
    const feed = feedOf([EVENTS[0]!, failed]);
    observeFinalResponse(feed, [(final) => seen.push(final)]);
    await drainFeed(feed);
    expect(seen.map((final) => [final.type, final.response.error])).toEqual([['response.failed', { code: 'server_error', message: 'boom' }]]);
  });
});

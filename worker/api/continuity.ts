/**
 * The user's ResponseStore on the request path. Before the upstream call it is asked only when a
 * request refers to stored state (`previous_response_id`, `item_reference`, or Chat tool calls of
 * the turn in progress); every other request goes upstream without it. After the answer, what to
 * keep is written in waitUntil, never in the way of the stream.
 */
import type { NormalizedResponsesRequest } from '../translate/responses-request.ts';
import type { SseEvent } from '../translate/sse.ts';
import {
  currentTurnCallIds, expandStoredInput, isEmptyQuery, observeTurn, toolTurnReasoning, withToolReasoning,
  type StoreAnswer, type StoreQuery,
} from '../translate/stored-context.ts';

type Json = Record<string, unknown>;
type WaitUntil = (promise: Promise<unknown>) => void;

function storeOf(env: Env, userId: string) {
  return env.RESPONSE_STORE.getByName(userId);
}

/** The store's answer; the cast only restores the type RPC inference loses on `unknown` JSON values. */
async function lookup(env: Env, userId: string, query: StoreQuery): Promise<StoreAnswer> {
  return (await storeOf(env, userId).lookup(userId, query)) as unknown as StoreAnswer;
}

function logFailure(event: string) {
  return (err: unknown) => {
    console.error(JSON.stringify({ event, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }));
  };
}

/**
 * The Responses input with stored state applied: `history` (the `previous_response_id` chain)
 * and the client's `input` with references expanded. Throws the 404/400 for an unknown id.
 */
export async function resolveResponsesInput(
  env: Env,
  userId: string,
  request: NormalizedResponsesRequest,
): Promise<{ history: Json[]; input: Json[] }> {
  const input = request.body.input as Json[];
  if (isEmptyQuery(request.storeQuery)) return { history: [], input };
  const answer = await lookup(env, userId, request.storeQuery);
  return expandStoredInput(input, request.storeQuery.previousResponseId, answer);
}

/**
 * Keeps the answered response (unless the client sent `store: false`): `input` is the client's
 * input with references expanded, without the replayed history.
 */
export function rememberResponse(
  env: Env,
  userId: string,
  waitUntil: WaitUntil,
  turn: { store: boolean; previousResponseId: string | null; input: Json[] },
): TransformStream<SseEvent, SseEvent> | null {
  if (!turn.store) return null;
  return observeTurn(({ responseId, output }) => {
    const saved = storeOf(env, userId).saveTurn(userId, {
      responseId,
      previousResponseId: turn.previousResponseId,
      input: turn.input,
      output,
    });
    waitUntil(saved.catch(logFailure('response_store_write_failed')));
  });
}

/**
 * The Chat input with the reasoning of the current turn's tool calls put back. A store that
 * cannot be read costs the model its earlier reasoning, not the request.
 */
export async function chatInputWithReasoning(env: Env, userId: string, input: Json[]): Promise<Json[]> {
  const callIds = currentTurnCallIds(input);
  if (callIds.length === 0) return input;
  try {
    const answer = await lookup(env, userId, { previousResponseId: null, itemIds: [], callIds });
    return withToolReasoning(input, answer.toolReasoning);
  } catch (err) {
    logFailure('response_store_read_failed')(err);
    return input;
  }
}

/** Keeps the reasoning of a Chat turn that ends in tool calls, keyed by their call ids. */
export function rememberToolReasoning(env: Env, userId: string, waitUntil: WaitUntil): TransformStream<SseEvent, SseEvent> {
  return observeTurn(({ output }) => {
    const turn = toolTurnReasoning(output);
    if (!turn) return;
    waitUntil(storeOf(env, userId).saveToolReasoning(userId, turn.callIds, turn.reasoning).catch(logFailure('response_store_write_failed')));
  });
}

/**
 * The user's ResponseStore on the request path. Before the upstream call it is asked only when a
 * request refers to stored state (`previous_response_id`, `item_reference`, or Chat tool calls of
 * the turn in progress); every other request goes upstream without it. After the answer, what to
 * keep is written in waitUntil, never in the way of the stream.
 */
import type { NormalizedResponsesRequest } from '../translate/responses-request.ts';
import {
  currentTurnCallIds, expandStoredInput, isEmptyQuery, observedTurn, toolTurnReasoning, withToolReasoning,
} from '../translate/stored-context.ts';
import { lookupStored } from '../accounts/response-store.ts';
import type { FinalResponseObserver } from './final-response.ts';

type Json = Record<string, unknown>;
type WaitUntil = (promise: Promise<unknown>) => void;

function storeOf(env: Env, userId: string) {
  return env.RESPONSE_STORE.getByName(userId);
}

function logFailure(event: string) {
  return (err: unknown) => {
    console.error(JSON.stringify({ event, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }));
  };
}

/**
 * Starts a store write at once (so its RPC leaves before the client can ask for what it writes)
 * and hands it to waitUntil; whatever goes wrong is logged and never reaches the stream.
 */
function afterAnswer(waitUntil: WaitUntil, write: () => Promise<unknown>): void {
  let written: Promise<unknown>;
  try {
    written = write();
  } catch (err) {
    written = Promise.reject(err);
  }
  waitUntil(written.catch(logFailure('response_store_write_failed')));
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
  const answer = await lookupStored(env, userId, request.storeQuery);
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
): FinalResponseObserver | null {
  if (!turn.store) return null;
  return (final) => {
    const answered = observedTurn(final);
    if (!answered) return;
    const record = { ...answered, previousResponseId: turn.previousResponseId, input: turn.input };
    afterAnswer(waitUntil, () => storeOf(env, userId).saveTurn(userId, record));
  };
}

/**
 * The Chat input with the reasoning of the current turn's tool calls put back. A store that
 * cannot be read costs the model its earlier reasoning, not the request.
 */
export async function chatInputWithReasoning(env: Env, userId: string, input: Json[]): Promise<Json[]> {
  const callIds = currentTurnCallIds(input);
  if (callIds.length === 0) return input;
  try {
    const answer = await lookupStored(env, userId, { previousResponseId: null, itemIds: [], callIds });
    return withToolReasoning(input, answer.toolReasoning);
  } catch (err) {
    logFailure('response_store_read_failed')(err);
    return input;
  }
}

/** Keeps the reasoning of a Chat turn that ends in tool calls, keyed by their call ids. */
export function rememberToolReasoning(env: Env, userId: string, waitUntil: WaitUntil): FinalResponseObserver {
  return (final) => {
    const turn = toolTurnReasoning(observedTurn(final)?.output ?? []);
    if (!turn) return;
    afterAnswer(waitUntil, () => storeOf(env, userId).saveToolReasoning(userId, turn.callIds, turn.reasoning));
  };
}

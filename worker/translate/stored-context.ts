/**
 * Conversation state the Codex backend does not keep (it requires `store:false`), rebuilt from
 * what the user's response store returned. Pure: the store's I/O lives in accounts/response-store.ts;
 * these functions only find what a request refers to, splice in what was found, and watch an
 * answer's events for what to keep. See docs/storage.md ("ResponseStore").
 */
import { ApiError } from '../shared/errors.ts';
import type { FinalResponse } from './responses-stream.ts';

type Json = Record<string, unknown>;

/** How long stored items are kept; quoted in error messages (docs/storage.md has the bounds). */
export const STORE_TTL_DAYS = 7;

/** What a request needs from the store; nothing at all for most requests. */
export interface StoreQuery {
  previousResponseId: string | null;
  /** Ids of `item_reference` inputs (and of reasoning items sent without their encrypted content). */
  itemIds: string[];
  /** Chat Completions: the tool calls of the turn in progress, whose reasoning is looked up. */
  callIds: string[];
}

/** A `previous_response_id` chain as the store found it. */
export type StoredChain =
  | { kind: 'found'; items: Json[] }
  | { kind: 'missing'; id: string }
  | { kind: 'too_large'; id: string };

export interface StoreAnswer {
  chain: StoredChain | null;
  /** Output items by id. */
  items: Record<string, Json>;
  /** Reasoning items by the call id of the tool call they led to. */
  toolReasoning: Record<string, Json[]>;
}

/** True when the query would read nothing: such a request never calls the store. */
export function isEmptyQuery(query: StoreQuery): boolean {
  return query.previousResponseId === null && query.itemIds.length === 0 && query.callIds.length === 0;
}

/**
 * An input item that names a stored item instead of carrying it: `{"type":"item_reference","id"}`,
 * the typeless `{"id"}` the OpenAI SDKs allow, or a reasoning item sent by id without its
 * `encrypted_content` (what the backend would also look up, and refuse, under `store:false`).
 */
export function referencedId(item: Json): string | null {
  if (typeof item.id !== 'string' || item.id === '') return null;
  if (item.type === 'item_reference') return item.id;
  if (item.type === undefined && item.role === undefined && item.content === undefined) return item.id;
  if (item.type === 'reasoning' && (typeof item.encrypted_content !== 'string' || item.encrypted_content === '')) return item.id;
  return null;
}

/**
 * Input items without their `id`: under `store:false` the backend treats any item id as a
 * reference to something it stored, and answers 404 (Codex CLI strips them the same way).
 */
export function withoutItemIds(items: readonly Json[]): Json[] {
  return items.map((item) => {
    if (!('id' in item)) return item;
    const { id: _id, ...rest } = item;
    return rest;
  });
}

function itemNotFound(id: string, index: number): ApiError {
  return new ApiError(
    'item_not_found',
    `Item with id '${id}' not found. Items are kept for ${STORE_TTL_DAYS} days from responses created without 'store': false; send the item itself in 'input', or remove it.`,
    { param: `input[${index}]` },
  );
}

function previousNotFound(chain: Exclude<StoredChain, { kind: 'found' }>, requested: string): ApiError {
  const message =
    chain.kind === 'too_large'
      ? `Previous response with id '${requested}' cannot be continued: response '${chain.id}' in its conversation was too large to store. Send the conversation as 'input' instead.`
      : chain.id === requested
        ? `Previous response with id '${requested}' not found. Responses are kept for ${STORE_TTL_DAYS} days when created without 'store': false.`
        : `Previous response with id '${requested}' cannot be continued: response '${chain.id}' in its conversation is no longer stored (kept ${STORE_TTL_DAYS} days). Send the conversation as 'input' instead.`;
  return new ApiError('previous_response_not_found', message, { param: 'previous_response_id' });
}

/**
 * What to send upstream: `history`, the stored conversation of `previousResponseId` (empty without
 * one), and `input`, the client's input with every reference replaced by the stored item (what a
 * later continuation of this response replays). Throws ApiError for anything the store lacked.
 */
export function expandStoredInput(
  input: readonly Json[],
  previousResponseId: string | null,
  answer: StoreAnswer,
): { history: Json[]; input: Json[] } {
  let history: Json[] = [];
  if (previousResponseId !== null) {
    const chain = answer.chain ?? { kind: 'missing', id: previousResponseId };
    if (chain.kind !== 'found') throw previousNotFound(chain, previousResponseId);
    history = withoutItemIds(chain.items);
  }
  const expanded = input.map((item, index) => {
    const id = referencedId(item);
    if (id === null) return item;
    const stored = answer.items[id];
    if (!stored) throw itemNotFound(id, index);
    return withoutItemIds([stored])[0]!;
  });
  return { history, input: expanded };
}

/** Ids the Responses input refers to, in order, without repeats. */
export function referencedIds(input: readonly Json[]): string[] {
  const ids = new Set<string>();
  for (const item of input) {
    const id = referencedId(item);
    if (id !== null) ids.add(id);
  }
  return [...ids];
}

function isUserMessage(item: Json): boolean {
  return item.role === 'user' && (item.type === undefined || item.type === 'message');
}

/**
 * Call ids of the tool calls made since the last user message: the turn the model is still
 * working on, whose reasoning it should see again (earlier turns' reasoning is not needed).
 */
export function currentTurnCallIds(input: readonly Json[]): string[] {
  let start = 0;
  input.forEach((item, i) => {
    if (isUserMessage(item)) start = i + 1;
  });
  const ids: string[] = [];
  for (const item of input.slice(start)) {
    if (item.type === 'function_call' && typeof item.call_id === 'string' && !ids.includes(item.call_id)) ids.push(item.call_id);
  }
  return ids;
}

/**
 * The Chat input with each stored reasoning put back where the model produced it: before the
 * assistant turn (its text and tool calls) that made the call it led to. One reasoning shared by
 * parallel calls is inserted once.
 */
export function withToolReasoning(input: readonly Json[], reasoning: Record<string, Json[]>): Json[] {
  const out = [...input];
  const inserted = new Set<string>();
  for (let i = 0; i < out.length; i++) {
    const item = out[i]!;
    if (item.type !== 'function_call' || typeof item.call_id !== 'string') continue;
    const fresh = (reasoning[item.call_id] ?? []).filter((r) => !inserted.has(reasoningKey(r)));
    if (fresh.length === 0) continue;
    let at = i;
    while (at > 0 && isAssistantTurnPart(out[at - 1]!)) at -= 1;
    for (const r of fresh) inserted.add(reasoningKey(r));
    out.splice(at, 0, ...withoutItemIds(fresh));
    i += fresh.length;
  }
  return out;
}

function isAssistantTurnPart(item: Json): boolean {
  return item.type === 'function_call' || (item.type === 'message' && item.role === 'assistant') || item.type === 'reasoning';
}

function reasoningKey(item: Json): string {
  return typeof item.encrypted_content === 'string' ? item.encrypted_content : JSON.stringify(item);
}

/** What one answered request leaves to keep. */
export interface ObservedTurn {
  responseId: string;
  /** Output items in order, as the backend finished them. */
  output: Json[];
}

/**
 * What an answer that ended leaves to keep: its id and output items, for a completed or
 * incomplete answer with an id; null for a failed one.
 */
export function observedTurn(final: FinalResponse): ObservedTurn | null {
  if (final.type === 'response.failed') return null;
  const { id, output } = final.response;
  if (typeof id !== 'string' || id === '') return null;
  return { responseId: id, output: Array.isArray(output) ? (output as Json[]) : [] };
}

/** The reasoning items of a Chat turn that ended in tool calls, keyed by those calls' ids. */
export function toolTurnReasoning(output: readonly Json[]): { callIds: string[]; reasoning: Json[] } | null {
  const callIds = output.flatMap((item) => (item.type === 'function_call' && typeof item.call_id === 'string' ? [item.call_id] : []));
  const reasoning = output.filter((item) => item.type === 'reasoning' && typeof item.encrypted_content === 'string');
  return callIds.length > 0 && reasoning.length > 0 ? { callIds, reasoning } : null;
}

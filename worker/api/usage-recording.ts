/**
 * Per-key usage of every model request, recorded after the answer: the model and effort asked
 * for, the token counts of the final usage, whether it failed, and how long it took. One meter
 * per request, made by the key check; the surface says when the model call starts (`start`) and
 * lets the meter watch the upstream feed (`watch`). The record goes to the user's AuthBroker in
 * waitUntil, which counts it against the day limits at once and writes `key_usage` within a minute.
 */
import type { AuthBroker } from '../accounts/auth-broker.ts';
import type { UsageRecord } from '../accounts/key-ledger.ts';
import { checkModelAllowed } from '../accounts/key-limits.ts';
import type { EventFeed, FeedEnd, SseEvent } from '../translate/sse.ts';
import { TERMINAL_EVENT_TYPES } from '../translate/responses-stream.ts';

type Json = Record<string, unknown>;
type WaitUntil = (promise: Promise<unknown>) => void;

/** The token counts of a Responses `usage` object (zeros for what is missing). */
export interface TokenCounts {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
}

const NO_TOKENS: TokenCounts = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0 };

/** Reads a Responses `usage` object, as the final response event carries it. */
export function tokenCounts(usage: unknown): TokenCounts {
  const u = asJson(usage);
  if (!u) return NO_TOKENS;
  return {
    inputTokens: count(u.input_tokens),
    cachedInputTokens: count(asJson(u.input_tokens_details)?.cached_tokens),
    outputTokens: count(u.output_tokens),
    reasoningTokens: count(asJson(u.output_tokens_details)?.reasoning_tokens),
  };
}

/** What a model call is for: the id the client asked for, the slug sent upstream, the effort sent (a string, else none). */
export interface ModelCall {
  model: string;
  servedModel: string;
  effort: unknown;
}

export interface MeterOptions {
  env: Env;
  userId: string;
  keyId: string;
  /** The UTC day the key check counted this request in; null when it was not counted (not a model route). */
  countedDay: number | null;
  /** The key's model allowlist (null: every model), checked as the model call starts. */
  allowedModels: string[] | null;
  waitUntil: WaitUntil;
  startedAt: number;
}

export class UsageMeter {
  readonly #o: MeterOptions;
  #call: { model: string; effort: string } | null = null;
  #observing = false;
  #done = false;

  constructor(options: MeterOptions) {
    this.#o = options;
  }

  /**
   * The request goes to the model now: `model` as the client named it, `servedModel` the slug it
   * is sent as. Throws the 403 when the key may not use it (then nothing is counted).
   */
  start(call: ModelCall): void {
    if (this.#call) return;
    checkModelAllowed(this.#o.allowedModels, call.model, call.servedModel);
    this.#call = { model: call.model, effort: typeof call.effort === 'string' ? call.effort : '' };
  }

  /** Watches the upstream feed for the final response (`see`) and for how it ends (`ended`); adds no stream stage. */
  watch(feed: EventFeed): void {
    this.#observing = true;
    feed.observe((event) => this.see(event));
    feed.onEnd((how) => this.ended(how));
  }

  /** One upstream event: the final response (completed, incomplete, failed) or an `error` event records the request. */
  see(event: SseEvent): void {
    this.#observing = true;
    if ((TERMINAL_EVENT_TYPES as readonly string[]).includes(event.type)) {
      this.finish(event.type === 'response.failed', tokenCounts(asJson(event.data.response)?.usage));
    } else if (event.type === 'error') {
      this.finish(true, NO_TOKENS);
    }
  }

  /**
   * The events ended. Before a final response that is a failure (`closed` early, `errored`);
   * a client that went away (`cancelled`) is recorded as it stood, not as failed.
   */
  ended(how: FeedEnd): void {
    this.finish(how !== 'cancelled', NO_TOKENS);
  }

  /** Records the request once (later calls do nothing). Only a started request is recorded. */
  finish(failed: boolean, tokens: TokenCounts): void {
    const call = this.#call;
    if (this.#done || !call) return;
    this.#done = true;
    const record: UsageRecord = {
      keyId: this.#o.keyId, model: call.model, effort: call.effort, startedAt: this.#o.startedAt,
      durationMs: Math.max(0, Date.now() - this.#o.startedAt), failed, ...tokens,
    };
    this.#send((broker) => broker.recordUsage(this.#o.userId, record));
  }

  /**
   * Called by the key check once the surface has answered: a counted request that never reached
   * the model no longer counts; one that failed before its stream (an HTTP error) is recorded as
   * failed; a stream still running records itself when it ends.
   */
  settle(response: Response): void {
    if (this.#done) return;
    if (!this.#call) {
      this.#done = true;
      const day = this.#o.countedDay;
      if (day !== null) this.#send((broker) => broker.releaseRequest(this.#o.userId, this.#o.keyId, day));
      return;
    }
    if (response.status >= 400) this.finish(true, NO_TOKENS);
    else if (!this.#observing) this.finish(false, NO_TOKENS);
  }

  #send(call: (broker: DurableObjectStub<AuthBroker>) => Promise<unknown>): void {
    let sent: Promise<unknown>;
    try {
      sent = call(this.#o.env.AUTH_BROKER.getByName(this.#o.userId));
    } catch (err) {
      sent = Promise.reject(err);
    }
    this.#o.waitUntil(
      sent.catch((err: unknown) => {
        console.error(JSON.stringify({ event: 'key_usage_record_failed', keyId: this.#o.keyId, error: err instanceof Error ? err.message : String(err) }));
      }),
    );
  }
}

/**
 * The one line a surface needs around its model call (e.g. /v1/messages):
 * `const feed = await meteredModelCall(c, { model, servedModel, effort }, () => openModelStream(…))`.
 * It enforces the key's model allowlist (403 model_not_allowed), and the call counts as made even
 * when it throws (an upstream 429 or 5xx is a failed request); the feed comes back watched for
 * the final usage. `c` is a context the key check has run on.
 */
export async function meteredModelCall(
  c: { get(key: 'usage'): UsageMeter },
  call: ModelCall,
  open: () => Promise<EventFeed>,
): Promise<EventFeed> {
  const meter = c.get('usage');
  meter.start(call);
  const feed = await open();
  meter.watch(feed);
  return feed;
}

function asJson(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/**
 * Public types of the fake Codex backend, shared by the in-process state and the fetch-only control
 * client. No Node imports here: tests running inside workerd import this file too.
 */
import type { RelayErrorCode } from '../../../relay/errors.ts';

/** Options for a new token family (one OAuth grant: a chain of rotating refresh tokens for one account). */
export type FamilyOptions = {
  /** Defaults to a random `acc_…` id. Several families may share one account. */
  accountId?: string;
  /** Defaults to `user-<random>@example.com`. */
  email?: string;
  /** `chatgpt_plan_type` claim; default `plus`. */
  planType?: string;
  /** Lifetime of every access token issued to this family; negative = issued already expired. Default 3600. */
  accessTokenTtlSeconds?: number;
};

export type TokenSet = {
  id_token: string;
  access_token: string;
  refresh_token: string;
  account_id: string;
};

/** A complete `~/.codex/auth.json`. */
export type AuthJson = {
  auth_mode: 'chatgpt';
  OPENAI_API_KEY: null;
  tokens: TokenSet;
  last_refresh: string;
};

export type CreatedFamily = {
  family: string;
  accountId: string;
  email: string;
  planType: string;
  tokens: TokenSet;
  authJson: AuthJson;
};

export type FamilyInfo = {
  family: string;
  accountId: string;
  /** Calls to the token endpoint that presented one of this family's refresh tokens (any outcome). */
  refreshCalls: number;
  /** Media type of the latest such call, e.g. `application/x-www-form-urlencoded`; null before any. */
  lastContentType: string | null;
  /** The only refresh token that still works. */
  currentRefreshToken: string;
  accessTokenTtlSeconds: number;
  /** Steps still queued by `scriptTokenEndpoint`. */
  pendingTokenSteps: number;
};

/** One scripted answer of `POST /oauth/token` (refresh grant) for a family; `delayMs` waits before answering. */
export type TokenStep = (
  | { kind: 'ok' }
  | { kind: 'reused' }
  | { kind: 'expired' }
  | { kind: 'invalidated' }
  | { kind: 'invalid_grant' }
  | { kind: 'unauthorized' }
  | { kind: 'server_error'; status?: 500 | 502 | 503 }
  | { kind: 'unsupported_media_type' }
) & { delayMs?: number };

export type AuthorizationCodeOptions = {
  /** Issue the code for this existing family; without it a new family is created (with these options). */
  family?: string;
  /** PKCE S256 challenge (base64url of SHA-256 of the verifier); when set, the exchange must present the verifier. */
  codeChallenge?: string;
  /** When set, the exchange must send the same `redirect_uri`. */
  redirectUri?: string;
} & FamilyOptions;

export type CreatedAuthorizationCode = { code: string; family: string; accountId: string; email: string };

export type ToolCallSpec = { name: string; arguments: string; callId?: string };

export type UsageSpec = {
  input_tokens: number;
  input_tokens_details?: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details?: { reasoning_tokens: number };
  total_tokens: number;
};

/** How a successful stream looks. */
export type OkOptions = {
  /** Assistant text; default `Hello from fake Codex: <last user input text>` (none when only toolCalls are given). */
  text?: string;
  /** Emits a reasoning item (summary events + `encrypted_content`) before the message. */
  reasoningSummary?: string;
  /** Emits function_call items, argument deltas of parallel calls interleaved. */
  toolCalls?: ToolCallSpec[];
  /** Give every function_call event output_index 0, as some real streams do. */
  repeatOutputIndexZero?: boolean;
  usage?: UsageSpec;
  /** Characters per delta (text, summary and arguments); default 8. */
  chunkSize?: number;
  /**
   * Benchmarks: write this many events per network chunk and let each chunk leave before the
   * next (1 = one event per chunk, as the real backend streams). Unset, frames are written back
   * to back and the socket may merge them.
   */
  eventsPerChunk?: number;
};

/** One scripted answer of `POST /backend-api/codex/responses` for an account. */
export type ResponseStep =
  | ({ kind: 'ok' } & OkOptions)
  | { kind: 'unauthorized' }
  | { kind: 'usage_limit'; resetsAt?: number; planType?: string }
  | { kind: 'usage_not_included' }
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'server_error'; status?: number }
  | { kind: 'bad_request'; detail: string }
  | { kind: 'failed'; code: string; message: string }
  | { kind: 'error_event'; code: string; message: string }
  | ({ kind: 'incomplete'; reason: string } & OkOptions)
  /** Cut the connection after `afterEvents` events (default: just before the terminal event); `cleanEnd` ends the body normally instead. */
  | ({ kind: 'truncated'; afterEvents?: number; cleanEnd?: boolean } & OkOptions)
  /** A normal stream with `delayMs` between events; stops (and counts as aborted) when the client goes away. */
  | ({ kind: 'slow'; delayMs: number } & OkOptions)
  /** Sends the first `afterEvents` events (default 5: the opening and the first items) then nothing, connection open, until the client aborts. */
  | ({ kind: 'stall'; afterEvents?: number } & OkOptions)
  /** Sends 200 headers then nothing until the client aborts; `beforeHeaders` sends nothing at all. */
  | { kind: 'hang'; beforeHeaders?: boolean }
  /** Answers as the relay does for one of its own errors (status, body and the x-relay-error header). */
  | { kind: 'relay_error'; code: RelayErrorCode };

export type RecordedRequest = {
  method: string;
  /** Path and query as received. */
  url: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Parsed JSON body, or the raw text when it was not JSON. */
  body: unknown;
  /** Status the fake answered with. */
  status: number;
  /** The scripted step used, if any (`default` when the script was empty, `none` when the request was refused first). */
  step: ResponseStep['kind'] | 'default' | 'none';
  receivedAt: string;
};

export type AccountStats = { requests: number; aborted: number };

/** One `ModelInfo` of `GET /codex/models` (`slug`, `supported_reasoning_levels`, `visibility`, `minimal_client_version`, …). */
export type FakeModel = Record<string, unknown> & { slug: string };

/** What `GET /codex/models` serves one account. */
export type ModelsSettings = {
  /** The account's catalog (plans differ); `null` goes back to the default catalog. */
  models?: FakeModel[] | null;
  /** Answer every models request with this status (a backend outage); `null` serves the catalog again. */
  failWith?: number | null;
};

/** `GET /backend-api/wham/usage` body. */
export type UsageBody = {
  plan_type: string;
  rate_limit: {
    allowed: boolean;
    limit_reached: boolean;
    primary_window: UsageWindow | null;
    secondary_window: UsageWindow | null;
  };
  credits: { has_credits: boolean; unlimited: boolean; balance: string };
};

export type UsageWindow = {
  used_percent: number;
  limit_window_seconds: number;
  reset_after_seconds: number;
  reset_at: number;
};

/** The page every fake web search finds and cites. */
export const FAKE_SEARCH_RESULT = { url: 'https://example.com/fake-search-result?utm_source=openai', title: 'Example Domain' };

export const FAKE_CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';

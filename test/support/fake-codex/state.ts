/**
 * Everything the fake remembers, keyed by random family and account ids so tests that share one fake
 * never see each other's counters. The HTTP control API (`control-api.ts`) calls these same methods.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_MODELS, defaultRateLimitHeaders, usageBodyFrom } from './catalog.ts';
import { FakeDeviceAuth } from './device-auth.ts';
import { mintAccessToken, mintIdToken, type Identity } from './jwt.ts';
import {
  FAKE_CLIENT_ID,
  type AccountStats,
  type AuthorizationCodeOptions,
  type CreatedAuthorizationCode,
  type CreatedFamily,
  type FamilyInfo,
  type FamilyOptions,
  type FakeModel,
  type ModelsSettings,
  type RecordedRequest,
  type ResponseStep,
  type TokenSet,
  type TokenStep,
  type UsageBody,
} from './types.ts';

/** An error the control API turns into its HTTP status. */
export class FakeStateError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

type Family = {
  id: string;
  identity: Identity;
  ttlSeconds: number;
  generation: number;
  currentRefreshToken: string;
  refreshCalls: number;
  lastContentType: string | null;
  tokenScript: TokenStep[];
};

type Account = {
  id: string;
  planType: string;
  email: string;
  responseScript: ResponseStep[];
  requests: RecordedRequest[];
  stats: AccountStats;
  rateLimitHeaders: Record<string, string>;
  usage: UsageBody | null;
  models: FakeModel[] | null;
  modelsFailWith: number | null;
  modelsRequests: RecordedRequest[];
  usageRequests: RecordedRequest[];
};

type AuthorizationCode = { family: string; codeChallenge?: string; redirectUri?: string; used: boolean };

export type AccessTokenRecord = { family: string; accountId: string; exp: number };

const rand = (bytes = 6) => randomBytes(bytes).toString('hex');

export class FakeCodexState {
  readonly #families = new Map<string, Family>();
  readonly #accounts = new Map<string, Account>();
  /** Every refresh token ever issued → its family and generation (the current one is on the family). */
  readonly #refreshTokens = new Map<string, { family: string; generation: number }>();
  readonly #accessTokens = new Map<string, AccessTokenRecord>();
  readonly #codes = new Map<string, AuthorizationCode>();
  /** The device-code sign-in (`device-auth.ts`). */
  readonly deviceAuth = new FakeDeviceAuth(this);

  /** Creates a family with a first token set, as if the user had just signed in. */
  createFamily(options: FamilyOptions = {}): CreatedFamily {
    const id = `fam${rand()}`;
    const accountId = options.accountId ?? `acc_${rand(8)}`;
    const email = options.email ?? `user-${rand(4)}@example.com`;
    const planType = options.planType ?? 'plus';
    const account = this.#account(accountId);
    account.planType = planType;
    account.email = email;
    const family: Family = {
      id,
      identity: { accountId, email, planType, userId: `user-${rand(8)}` },
      ttlSeconds: options.accessTokenTtlSeconds ?? 3600,
      generation: 0,
      currentRefreshToken: '',
      refreshCalls: 0,
      lastContentType: null,
      tokenScript: [],
    };
    this.#families.set(id, family);
    const tokens = this.issueTokens(id);
    return {
      family: id,
      accountId,
      email,
      planType,
      tokens,
      authJson: {
        auth_mode: 'chatgpt',
        OPENAI_API_KEY: null,
        tokens,
        last_refresh: new Date().toISOString(),
      },
    };
  }

  family(family: string): FamilyInfo {
    const f = this.#family(family);
    return {
      family: f.id,
      accountId: f.identity.accountId,
      refreshCalls: f.refreshCalls,
      lastContentType: f.lastContentType,
      currentRefreshToken: f.currentRefreshToken,
      accessTokenTtlSeconds: f.ttlSeconds,
      pendingTokenSteps: f.tokenScript.length,
    };
  }

  setFamily(family: string, patch: { accessTokenTtlSeconds?: number }): FamilyInfo {
    const f = this.#family(family);
    if (patch.accessTokenTtlSeconds !== undefined) f.ttlSeconds = patch.accessTokenTtlSeconds;
    return this.family(family);
  }

  /** Queues answers for this family's next refresh calls (appended to any still queued). */
  scriptTokenEndpoint(family: string, steps: TokenStep[]): FamilyInfo {
    this.#family(family).tokenScript.push(...steps);
    return this.family(family);
  }

  createAuthorizationCode(options: AuthorizationCodeOptions = {}): CreatedAuthorizationCode {
    const { family: existing, codeChallenge, redirectUri, ...familyOptions } = options;
    const family = existing === undefined ? this.createFamily(familyOptions).family : this.#family(existing).id;
    const code = `ac_${rand(16)}`;
    this.#codes.set(code, {
      family,
      used: false,
      ...(codeChallenge === undefined ? {} : { codeChallenge }),
      ...(redirectUri === undefined ? {} : { redirectUri }),
    });
    const identity = this.#family(family).identity;
    return { code, family, accountId: identity.accountId, email: identity.email };
  }

  /** Queues answers for this account's next model requests (appended to any still queued). */
  scriptResponses(accountId: string, steps: ResponseStep[]): AccountStats {
    this.#account(accountId).responseScript.push(...steps);
    return this.accountStats(accountId);
  }

  /** Drops the answers still queued for the account (a test that queued more than it used). */
  clearResponseScript(accountId: string): AccountStats {
    this.#account(accountId).responseScript.length = 0;
    return this.accountStats(accountId);
  }

  requests(accountId: string): RecordedRequest[] {
    return structuredClone(this.#accounts.get(accountId)?.requests ?? []);
  }

  accountStats(accountId: string): AccountStats {
    return { ...(this.#accounts.get(accountId)?.stats ?? { requests: 0, aborted: 0 }) };
  }

  /** Replaces the `x-codex-*` headers sent to this account (and what `codex.rate_limits`/usage report). */
  setRateLimits(accountId: string, headers: Record<string, string>): void {
    this.#account(accountId).rateLimitHeaders = { ...headers };
  }

  /** Overrides the `wham/usage` body for this account (`null` goes back to deriving it from the headers). */
  setUsage(accountId: string, usage: UsageBody | null): void {
    this.#account(accountId).usage = usage;
  }

  /** Sets what `GET /codex/models` serves this account (its own catalog, or an outage). */
  setModels(accountId: string, settings: ModelsSettings): void {
    const account = this.#account(accountId);
    if (settings.models !== undefined) account.models = settings.models === null ? null : structuredClone(settings.models);
    if (settings.failWith !== undefined) account.modelsFailWith = settings.failWith;
  }

  /** Every `GET /codex/models` this account made, oldest first. */
  modelsRequests(accountId: string): RecordedRequest[] {
    return structuredClone(this.#accounts.get(accountId)?.modelsRequests ?? []);
  }

  /** Every `GET /wham/usage` this account made, oldest first. */
  usageRequests(accountId: string): RecordedRequest[] {
    return structuredClone(this.#accounts.get(accountId)?.usageRequests ?? []);
  }

  // ---- used by the HTTP handlers ----

  /** The account's whole catalog, before the client-version filter. */
  models(accountId: string): readonly FakeModel[] {
    return this.#account(accountId).models ?? DEFAULT_MODELS;
  }

  modelsFailWith(accountId: string): number | null {
    return this.#account(accountId).modelsFailWith;
  }

  recordModelsRequest(accountId: string, request: RecordedRequest): void {
    this.#account(accountId).modelsRequests.push(request);
  }

  recordUsageRequest(accountId: string, request: RecordedRequest): void {
    this.#account(accountId).usageRequests.push(request);
  }

  /** Rotates the family: a new refresh token (the old one becomes "used") and a fresh access token. */
  issueTokens(familyId: string): TokenSet {
    const f = this.#family(familyId);
    f.generation += 1;
    const refreshToken = `rt_${f.id}_${f.generation}_${rand(12)}`;
    f.currentRefreshToken = refreshToken;
    this.#refreshTokens.set(refreshToken, { family: f.id, generation: f.generation });
    const access = mintAccessToken(f.identity, f.ttlSeconds, FAKE_CLIENT_ID);
    this.#accessTokens.set(access.token, { family: f.id, accountId: f.identity.accountId, exp: access.exp });
    return {
      id_token: mintIdToken(f.identity, FAKE_CLIENT_ID),
      access_token: access.token,
      refresh_token: refreshToken,
      account_id: f.identity.accountId,
    };
  }

  /** Finds the family a refresh token belongs to, and whether it is still the current one. */
  lookupRefreshToken(token: string): { family: string; current: boolean } | undefined {
    const entry = this.#refreshTokens.get(token);
    if (!entry) return undefined;
    return { family: entry.family, current: this.#family(entry.family).currentRefreshToken === token };
  }

  /** Counts a refresh call and hands out the next scripted step (or `ok`). */
  beginRefresh(familyId: string, contentType: string | null): TokenStep {
    const f = this.#family(familyId);
    f.refreshCalls += 1;
    f.lastContentType = contentType;
    return f.tokenScript.shift() ?? { kind: 'ok' };
  }

  familyTtl(familyId: string): number {
    return this.#family(familyId).ttlSeconds;
  }

  /** Marks an authorization code used and returns it; undefined when unknown or already used. */
  redeemCode(code: string): AuthorizationCode | undefined {
    const entry = this.#codes.get(code);
    if (!entry || entry.used) return undefined;
    entry.used = true;
    return entry;
  }

  accessToken(token: string): AccessTokenRecord | undefined {
    return this.#accessTokens.get(token);
  }

  nextResponseStep(accountId: string): ResponseStep | undefined {
    return this.#account(accountId).responseScript.shift();
  }

  recordRequest(accountId: string, request: RecordedRequest): RecordedRequest {
    const account = this.#account(accountId);
    account.requests.push(request);
    account.stats.requests += 1;
    return request;
  }

  recordAbort(accountId: string): void {
    this.#account(accountId).stats.aborted += 1;
  }

  rateLimitHeaders(accountId: string): Record<string, string> {
    return { ...this.#account(accountId).rateLimitHeaders };
  }

  planType(accountId: string): string {
    return this.#account(accountId).planType;
  }

  usageBody(accountId: string): UsageBody {
    const account = this.#account(accountId);
    return account.usage ?? usageBodyFrom(account.rateLimitHeaders, account.planType);
  }

  #family(id: string): Family {
    const f = this.#families.get(id);
    if (!f) throw new FakeStateError(404, `unknown family ${id}`);
    return f;
  }

  /** Accounts spring into existence on first mention, so a test may script one before its first request. */
  #account(id: string): Account {
    let account = this.#accounts.get(id);
    if (!account) {
      account = {
        id,
        planType: 'plus',
        email: '',
        responseScript: [],
        requests: [],
        stats: { requests: 0, aborted: 0 },
        rateLimitHeaders: defaultRateLimitHeaders(),
        usage: null,
        models: null,
        modelsFailWith: null,
        modelsRequests: [],
        usageRequests: [],
      };
      this.#accounts.set(id, account);
    }
    return account;
  }
}

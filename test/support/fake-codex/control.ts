/**
 * Fetch-only client of the fake Codex control API (`/__fake/*`). Uses Web APIs only, so it also runs
 * inside workerd (tests there reach the fake over HTTP). Method names match `FakeCodexState`.
 */
import type {
  AccountStats,
  AuthorizationCodeOptions,
  CreatedAuthorizationCode,
  CreatedFamily,
  FamilyInfo,
  FamilyOptions,
  ModelsSettings,
  RecordedRequest,
  ResponseStep,
  TokenStep,
  UsageBody,
} from './types.ts';
import type { DeviceApproval, DeviceApprovalOptions, DeviceAuthSettings, DeviceCodeInfo } from './device-types.ts';

export class FakeCodexControl {
  readonly baseUrl: string;

  /** `baseUrl` is the fake's root, e.g. `http://127.0.0.1:PORT` (a trailing slash is fine). */
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  createFamily(options: FamilyOptions = {}): Promise<CreatedFamily> {
    return this.#call('POST', '/__fake/families', options);
  }

  family(family: string): Promise<FamilyInfo> {
    return this.#call('GET', `/__fake/families/${enc(family)}`);
  }

  setFamily(family: string, patch: { accessTokenTtlSeconds?: number }): Promise<FamilyInfo> {
    return this.#call('PATCH', `/__fake/families/${enc(family)}`, patch);
  }

  /** Queues answers for the family's next refresh calls (appended to those still queued). */
  scriptTokenEndpoint(family: string, steps: TokenStep[]): Promise<FamilyInfo> {
    return this.#call('POST', `/__fake/families/${enc(family)}/token-script`, { steps });
  }

  createAuthorizationCode(options: AuthorizationCodeOptions = {}): Promise<CreatedAuthorizationCode> {
    return this.#call('POST', '/__fake/authorization-codes', options);
  }

  /** Device-code sign-in: turn it off (usercode answers 404) or change the interval handed out. */
  deviceAuthSettings(settings: DeviceAuthSettings): Promise<Required<DeviceAuthSettings>> {
    return this.#call('PATCH', '/__fake/device-auth', settings);
  }

  deviceCode(userCode: string): Promise<DeviceCodeInfo> {
    return this.#call('GET', `/__fake/device-codes/${enc(userCode)}`);
  }

  /** The user approves the code at auth.openai.com (for a new family unless `family` is given). */
  approveDeviceCode(userCode: string, options: DeviceApprovalOptions = {}): Promise<DeviceApproval> {
    return this.#call('POST', `/__fake/device-codes/${enc(userCode)}/approve`, options);
  }

  expireDeviceCode(userCode: string): Promise<DeviceCodeInfo> {
    return this.#call('POST', `/__fake/device-codes/${enc(userCode)}/expire`, {});
  }

  /** Which "still pending" status polls get (403 by default; the CLI treats 404 the same). */
  setDevicePendingStatus(userCode: string, status: 403 | 404): Promise<DeviceCodeInfo> {
    return this.#call('PUT', `/__fake/device-codes/${enc(userCode)}/pending-status`, { status });
  }

  /** Queues answers for the account's next model requests (appended to those still queued). */
  scriptResponses(accountId: string, steps: ResponseStep[]): Promise<AccountStats> {
    return this.#call('POST', `/__fake/accounts/${enc(accountId)}/response-script`, { steps });
  }

  /** Drops the answers still queued for the account. */
  clearResponseScript(accountId: string): Promise<AccountStats> {
    return this.#call('DELETE', `/__fake/accounts/${enc(accountId)}/response-script`);
  }

  requests(accountId: string): Promise<RecordedRequest[]> {
    return this.#call('GET', `/__fake/accounts/${enc(accountId)}/requests`);
  }

  accountStats(accountId: string): Promise<AccountStats> {
    return this.#call('GET', `/__fake/accounts/${enc(accountId)}/stats`);
  }

  async setRateLimits(accountId: string, headers: Record<string, string>): Promise<void> {
    await this.#call('PUT', `/__fake/accounts/${enc(accountId)}/rate-limits`, { headers });
  }

  async setUsage(accountId: string, usage: UsageBody | null): Promise<void> {
    await this.#call('PUT', `/__fake/accounts/${enc(accountId)}/usage`, { usage });
  }

  /** Sets what `GET /codex/models` serves the account: its own catalog (plans differ) or an outage status. */
  async setModels(accountId: string, settings: ModelsSettings): Promise<void> {
    await this.#call('PUT', `/__fake/accounts/${enc(accountId)}/models`, settings);
  }

  /** Every models request the account made (URL with `client_version`, headers such as `if-none-match`, status). */
  modelsRequests(accountId: string): Promise<RecordedRequest[]> {
    return this.#call('GET', `/__fake/accounts/${enc(accountId)}/models-requests`);
  }

  /** Every usage request the account made (headers, status). */
  usageRequests(accountId: string): Promise<RecordedRequest[]> {
    return this.#call('GET', `/__fake/accounts/${enc(accountId)}/usage-requests`);
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`fake-codex control ${method} ${path} → ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  }
}

const enc = encodeURIComponent;

/**
 * `POST /api/accounts/deviceauth/usercode` and `/token`: the device-code sign-in of
 * CODEX-BACKEND-2026 §1.6. A code is handed out, stays pending (403 or 404) until a test approves
 * it, and is then exchanged at `/oauth/token` with the PKCE verifier this server made.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readBody, type Answer } from './http.ts';
import {
  FAKE_DEVICE_REDIRECT_URI,
  type DeviceApproval,
  type DeviceApprovalOptions,
  type DeviceAuthSettings,
  type DeviceCodeInfo,
  type DeviceCodeStatus,
} from './device-types.ts';
import { FakeStateError, type FakeCodexState } from './state.ts';
import { FAKE_CLIENT_ID } from './types.ts';

type Entry = {
  deviceAuthId: string;
  userCode: string;
  status: DeviceCodeStatus;
  pendingStatus: 403 | 404;
  polls: number;
  approval?: { authorizationCode: string; codeVerifier: string; codeChallenge: string };
};

const LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

function userCode(): string {
  const pick = (n: number) => Array.from({ length: n }, () => LETTERS[randomInt(LETTERS.length)]).join('');
  return `${pick(4)}-${pick(5)}`;
}

function error(status: number, code: string, message: string): Answer {
  return { status, body: { error: { message, type: 'invalid_request_error', param: null, code } } };
}

export class FakeDeviceAuth {
  readonly #state: FakeCodexState;
  readonly #codes = new Map<string, Entry>();
  #enabled = true;
  #interval = '5';
  #challenge = false;

  constructor(state: FakeCodexState) {
    this.#state = state;
  }

  settings(patch: DeviceAuthSettings): Required<DeviceAuthSettings> {
    if (patch.enabled !== undefined) this.#enabled = patch.enabled;
    if (patch.interval !== undefined) this.#interval = patch.interval;
    if (patch.challenge !== undefined) this.#challenge = patch.challenge;
    return { enabled: this.#enabled, interval: this.#interval, challenge: this.#challenge };
  }

  info(code: string): DeviceCodeInfo {
    const e = this.#entry(code);
    return { userCode: e.userCode, status: e.status, pendingStatus: e.pendingStatus, polls: e.polls };
  }

  /** What the user does at auth.openai.com/codex/device: signs in and approves the code. */
  approve(code: string, options: DeviceApprovalOptions = {}): DeviceApproval {
    const e = this.#entry(code);
    if (e.status !== 'pending') throw new FakeStateError(409, `device code ${code} is ${e.status}`);
    const codeVerifier = randomBytes(64).toString('base64url');
    const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
    const created = this.#state.createAuthorizationCode({ ...options, codeChallenge, redirectUri: FAKE_DEVICE_REDIRECT_URI });
    e.status = 'approved';
    e.approval = { authorizationCode: created.code, codeVerifier, codeChallenge };
    return { userCode: e.userCode, family: created.family, accountId: created.accountId, email: created.email };
  }

  expire(code: string): DeviceCodeInfo {
    this.#entry(code).status = 'expired';
    return this.info(code);
  }

  setPendingStatus(code: string, status: 403 | 404): DeviceCodeInfo {
    this.#entry(code).pendingStatus = status;
    return this.info(code);
  }

  async handleUserCode(req: IncomingMessage): Promise<Answer> {
    if (!this.#enabled) return { status: 404, body: { detail: 'Not Found' } };
    const fields = await jsonFields(req);
    if (!fields) return error(400, 'invalid_request', 'Request body must be a JSON object.');
    if (fields.client_id !== FAKE_CLIENT_ID) return error(400, 'invalid_client', 'Unknown client_id.');
    const entry: Entry = { deviceAuthId: `deviceauth_${randomBytes(12).toString('hex')}`, userCode: userCode(), status: 'pending', pendingStatus: 403, polls: 0 };
    this.#codes.set(entry.userCode, entry);
    return { status: 200, body: { device_auth_id: entry.deviceAuthId, user_code: entry.userCode, usercode: entry.userCode, interval: this.#interval } };
  }

  async handleToken(req: IncomingMessage): Promise<Answer> {
    const fields = await jsonFields(req);
    if (!fields) return error(400, 'invalid_request', 'Request body must be a JSON object.');
    const entry = this.#codes.get(String(fields.user_code ?? ''));
    if (!entry || entry.deviceAuthId !== fields.device_auth_id) return error(400, 'invalid_request', 'Unknown device authorization.');
    entry.polls += 1;
    if (this.#challenge) {
      return { status: 403, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<html><title>Just a moment...</title></html>' };
    }
    switch (entry.status) {
      case 'pending':
        return error(entry.pendingStatus, 'deviceauth_authorization_pending', 'The user has not approved this device code yet.');
      case 'expired':
        return error(400, 'deviceauth_expired', 'This device code has expired.');
      case 'redeemed':
        return error(400, 'deviceauth_used', 'This device code was already used.');
      case 'approved': {
        entry.status = 'redeemed';
        const { authorizationCode, codeChallenge, codeVerifier } = entry.approval!;
        return { status: 200, body: { authorization_code: authorizationCode, code_challenge: codeChallenge, code_verifier: codeVerifier } };
      }
    }
  }

  #entry(code: string): Entry {
    const e = this.#codes.get(code);
    if (!e) throw new FakeStateError(404, `unknown device code ${code}`);
    return e;
  }
}

async function jsonFields(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  try {
    const parsed = JSON.parse((await readBody(req)).toString('utf8')) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

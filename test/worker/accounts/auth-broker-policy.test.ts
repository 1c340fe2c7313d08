import { describe, expect, it } from 'vitest';
import {
  MAX_AGE_WITHOUT_EXP_MS,
  REFRESH_MARGIN_MS,
  REFRESH_RETRY_DELAYS_MS,
  accessFromGrant,
  jittered,
  mergeRefreshed,
  needsRefresh,
  notConnectedGrant,
  reauthGrant,
  unavailableGrant,
} from '../../../worker/accounts/auth-broker-policy.ts';
import { ApiError } from '../../../worker/shared/errors.ts';
import type { TokenBundle } from '../../../worker/accounts/token-bundle.ts';
import { chatgptTokens } from '../helpers/tokens.ts';

const now = 1_800_000_000_000;
const base: TokenBundle = {
  accessToken: 'old-access',
  refreshToken: 'old-refresh',
  idToken: null,
  accountId: 'acct-1',
  expiresAt: now + 3_600_000,
  planType: 'plus',
  email: 'old@example.com',
  refreshedAt: now - 60_000,
};

describe('when to refresh', () => {
  it('refreshes only when less than five minutes remain', () => {
    expect(needsRefresh({ ...base, expiresAt: now + 60 * 60_000 }, now)).toBe(false);
    expect(needsRefresh({ ...base, expiresAt: now + REFRESH_MARGIN_MS + 1 }, now)).toBe(false);
    expect(needsRefresh({ ...base, expiresAt: now + 2 * 60_000 }, now)).toBe(true);
    expect(needsRefresh({ ...base, expiresAt: now - 1 }, now)).toBe(true);
  });

  it('without an expiry, refreshes tokens older than eight days (or of unknown age)', () => {
    expect(needsRefresh({ ...base, expiresAt: null, refreshedAt: now - 60_000 }, now)).toBe(false);
    expect(needsRefresh({ ...base, expiresAt: null, refreshedAt: now - MAX_AGE_WITHOUT_EXP_MS - 1 }, now)).toBe(true);
    expect(needsRefresh({ ...base, expiresAt: null, refreshedAt: null }, now)).toBe(true);
  });

  it('keeps the worst-case retry wait well under two seconds', () => {
    const worst = REFRESH_RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay * 1.5, 0);
    expect(worst).toBeLessThan(1_500);
    for (let i = 0; i < 100; i++) {
      const delay = jittered(400);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(600);
    }
  });
});

describe('merging a refresh answer', () => {
  it('replaces what the endpoint returned and keeps the rest', () => {
    const fresh = chatgptTokens({ accountId: 'acct-other', email: 'new@example.com', planType: 'pro', expSeconds: now / 1000 + 3600 });
    const merged = mergeRefreshed(base, { accessToken: fresh.accessToken, refreshToken: 'new-refresh', idToken: fresh.idToken }, now);
    expect(merged).toEqual({
      accessToken: fresh.accessToken,
      refreshToken: 'new-refresh',
      idToken: fresh.idToken,
      accountId: 'acct-1',
      expiresAt: now + 3_600_000,
      planType: 'pro',
      email: 'new@example.com',
      refreshedAt: now,
    });
  });

  it('keeps the old refresh token when none came back, and uses expires_in for opaque access tokens', () => {
    const merged = mergeRefreshed(base, { accessToken: 'opaque', expiresIn: 600 }, now);
    expect(merged.refreshToken).toBe('old-refresh');
    expect(merged.expiresAt).toBe(now + 600_000);
    expect(merged.email).toBe('old@example.com');
  });
});

describe('grants the Worker turns into errors', () => {
  it('maps a missing or revoked link to 401 codex_reauth_required pointing to onboarding', () => {
    for (const grant of [notConnectedGrant('https://proxy.example/'), reauthGrant('https://proxy.example')]) {
      const error = (() => {
        try {
          accessFromGrant(grant);
        } catch (err) {
          return err;
        }
        throw new Error('expected a throw');
      })();
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(401);
      expect((error as ApiError).toBody().error).toMatchObject({ type: 'authentication_error', code: 'codex_reauth_required' });
      expect((error as ApiError).message).toContain('https://proxy.example/onboarding');
    }
  });

  it('maps a failing refresh to 503 token_refresh_unavailable and passes ok grants through', () => {
    expect(() => accessFromGrant(unavailableGrant())).toThrow(expect.objectContaining({ status: 503, code: 'token_refresh_unavailable' }));
    expect(accessFromGrant({ ok: true, accessToken: 'a', accountId: 'b' })).toEqual({ accessToken: 'a', accountId: 'b' });
  });
});

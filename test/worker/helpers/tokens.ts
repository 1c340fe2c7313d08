/** Unsigned JWTs and auth.json texts shaped like the ones ChatGPT issues (test-only). */
import { bytesToBase64Url, utf8Encode } from '../../../worker/shared/encoding.ts';

export function makeJwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => bytesToBase64Url(utf8Encode(JSON.stringify(value)));
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(payload)}.${bytesToBase64Url(utf8Encode('not-a-signature'))}`;
}

export function chatgptTokens(options: { accountId?: string; email?: string; planType?: string; expSeconds?: number } = {}) {
  const accountId = options.accountId ?? 'acct-test-123';
  const auth = { chatgpt_account_id: accountId, chatgpt_plan_type: options.planType ?? 'plus', chatgpt_user_id: 'user-abc' };
  const idToken = makeJwt({ email: options.email ?? 'dev@example.com', 'https://api.openai.com/auth': auth });
  const accessToken = makeJwt({
    exp: options.expSeconds ?? Math.floor(Date.now() / 1000) + 3600,
    'https://api.openai.com/auth': auth,
    'https://api.openai.com/profile': { email: options.email ?? 'dev@example.com' },
  });
  return { idToken, accessToken, refreshToken: 'rt_secret_refresh_token_value', accountId };
}

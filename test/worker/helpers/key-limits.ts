/** Setting a seeded user's key limits as the dashboard does: through the user's AuthBroker. */
import { env } from 'cloudflare:workers';
import { hashProxyKey } from '../../../worker/accounts/crypto.ts';
import { findApiKeyByHash, type ApiKeyLimits } from '../../../worker/db/api-keys.ts';
import type { SeededUser } from './seed-user.ts';

export const NO_LIMITS: ApiKeyLimits = { maxRequestsPerDay: null, maxTokensPerDay: null, allowedModels: null, expiresAt: null };

export async function keyIdOf(user: SeededUser): Promise<string> {
  const row = await findApiKeyByHash(env.DB, await hashProxyKey(env.API_KEY_PEPPER, user.apiKey));
  if (!row) throw new Error('the seeded key is not in D1');
  return row.id;
}

export async function setLimits(user: SeededUser, limits: Partial<ApiKeyLimits>): Promise<string> {
  const keyId = await keyIdOf(user);
  const ok = await env.AUTH_BROKER.getByName(user.userId).setKeyLimits(user.userId, keyId, { ...NO_LIMITS, ...limits });
  if (!ok) throw new Error('setKeyLimits refused the seeded key');
  return keyId;
}

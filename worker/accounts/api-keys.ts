/** Creating a user's proxy keys (dashboard). The key is returned once and stored only as its HMAC. */
import { insertApiKey } from '../db/api-keys.ts';
import { mintProxyKey } from './proxy-keys.ts';

export interface CreatedApiKey {
  id: string;
  /** The clear key: show it to the user now; it cannot be recovered later. */
  key: string;
  hint: string;
  name: string;
  createdAt: number;
}

/** Generates, hashes and stores a new key for `userId`, returning the clear key exactly once. */
export async function createApiKey(
  env: Pick<Env, 'DB' | 'API_KEY_PEPPER'>,
  userId: string,
  name: string,
  now = Date.now(),
): Promise<CreatedApiKey> {
  const minted = await mintProxyKey(env.API_KEY_PEPPER);
  await insertApiKey(env.DB, { id: minted.id, userId, keyHash: minted.hash, keyHint: minted.hint, name, now });
  return { id: minted.id, key: minted.key, hint: minted.hint, name, createdAt: now };
}

/**
 * A user the Worker can serve end to end against the fake Codex backend: a D1 user, their
 * encrypted codex_tokens row (from a fresh fake token family) and a proxy key.
 */
import { env } from 'cloudflare:workers';
import { createApiKey } from '../../../worker/accounts/api-keys.ts';
import { parseCodexAuthFile } from '../../../worker/accounts/codex-auth-file.ts';
import { getKeyring, sealTokenBundle } from '../../../worker/accounts/crypto.ts';
import { replaceCodexTokens } from '../../../worker/db/codex-tokens.ts';
import { findOrCreateUser } from '../../../worker/db/users.ts';
import { FakeCodexControl } from '../../support/fake-codex/control.ts';
import type { CreatedFamily, FamilyOptions } from '../../support/fake-codex/types.ts';

export interface SeededUser {
  userId: string;
  /** The clear proxy key (cpk_…) to call the Worker with. */
  apiKey: string;
  accountId: string;
  family: CreatedFamily;
  fake: FakeCodexControl;
}

export async function seedUser(options: FamilyOptions = {}): Promise<SeededUser> {
  const fake = new FakeCodexControl(env.FAKE_CODEX_URL);
  const family = await fake.createFamily(options);
  const user = await findOrCreateUser(env.DB, `${crypto.randomUUID()}@example.com`, null, Date.now());
  const bundle = parseCodexAuthFile(JSON.stringify(family.authJson));
  const keyring = await getKeyring(env.TOKEN_ENCRYPTION_KEY);
  await replaceCodexTokens(env.DB, user.id, await sealTokenBundle(keyring, user.id, bundle), Date.now());
  const key = await createApiKey(env, user.id, 'test key');
  return { userId: user.id, apiKey: key.key, accountId: family.accountId, family, fake };
}

/**
 * `npm run provision -- --email E --auth-file ~/.codex/auth.json [--display-name N] [--key-name K]
 *  [--remote] [--persist-to DIR] [--dev-vars FILE]`
 *
 * Imports a Codex CLI login for a user (created on first run, updated after), stores the
 * tokens encrypted, and prints a new proxy key once. Secrets come from the environment
 * (TOKEN_ENCRYPTION_KEY, API_KEY_PEPPER); for the local database they default to .dev.vars.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AuthFileError, parseCodexAuthFile } from '../worker/accounts/codex-auth-file.ts';
import { ConfigError, getKeyring, sealTokenBundle } from '../worker/accounts/crypto.ts';
import {
  ACCOUNT_OWNER_SQL,
  INSERT_API_KEY_SQL,
  insertApiKeyParams,
  REPLACE_CODEX_TOKENS_SQL,
  replaceCodexTokensParams,
  UPSERT_USER_SQL,
  upsertUserParams,
} from '../worker/db/statements.ts';
import { isValidEmail, normalizeEmail } from '../worker/shared/email.ts';
import { mintProxyKey } from '../worker/accounts/proxy-keys.ts';
import { d1ExecuteStatements, d1Query, type D1Target } from './lib/d1-cli.ts';
import { readDevVars } from './lib/dev-vars.ts';
import { PROJECT_ROOT } from './lib/processes.ts';
import { inlineSql, sqlLiteral } from './lib/sql-literal.ts';

const USAGE = `Usage: npm run provision -- --email you@example.com --auth-file ~/.codex/auth.json
  [--display-name "Your Name"] [--key-name "laptop"] [--remote] [--persist-to DIR] [--dev-vars FILE]`;

/** A problem the operator can fix; printed without a stack trace. */
class ProvisionError extends Error {}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      'display-name': { type: 'string' },
      'auth-file': { type: 'string', default: '~/.codex/auth.json' },
      'key-name': { type: 'string' },
      remote: { type: 'boolean', default: false },
      'persist-to': { type: 'string' },
      'dev-vars': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const email = normalizeEmail(values.email ?? '');
  if (!isValidEmail(email)) throw new ProvisionError(`--email is missing or not a valid email address.\n${USAGE}`);
  if (values.remote && values['persist-to']) throw new ProvisionError('--persist-to applies to the local database only; drop it or --remote.');
  return {
    email,
    displayName: values['display-name']?.trim() || null,
    authFile: resolve(expandHome(values['auth-file'])),
    keyName: values['key-name']?.trim() || `provisioned ${new Date().toISOString().slice(0, 10)}`,
    target: (values.remote
      ? { remote: true }
      : { remote: false, persistTo: values['persist-to'] ?? join(PROJECT_ROOT, '.wrangler', 'state') }) as D1Target,
    envFile: values['dev-vars'] ?? join(PROJECT_ROOT, '.dev.vars'),
  };
}

/** The secrets from the environment; for the local database, missing ones come from the env file. */
function readSecrets(remote: boolean, envFile: string): { encryptionKey: string; pepper: string } {
  const fromFile = !remote && existsSync(envFile) ? readDevVars(envFile) : {};
  const encryptionKey = process.env.TOKEN_ENCRYPTION_KEY || fromFile.TOKEN_ENCRYPTION_KEY;
  const pepper = process.env.API_KEY_PEPPER || fromFile.API_KEY_PEPPER;
  const missing = [!encryptionKey && 'TOKEN_ENCRYPTION_KEY', !pepper && 'API_KEY_PEPPER'].filter(Boolean);
  if (missing.length > 0) {
    const hint = remote
      ? 'Set them in the environment to the same values as the deployed Worker secrets.'
      : `Set them in the environment, or run \`npm start\` once to create ${envFile}.`;
    throw new ProvisionError(`${missing.join(' and ')} not set. ${hint}`);
  }
  return { encryptionKey: encryptionKey!, pepper: pepper! };
}

function readAuthFile(path: string) {
  if (!existsSync(path)) {
    throw new ProvisionError(`Auth file not found: ${path}\nSign in with the Codex CLI (\`codex login\`) or pass --auth-file.`);
  }
  try {
    return parseCodexAuthFile(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof AuthFileError) throw new ProvisionError(`${path}: ${err.message}`);
    throw err;
  }
}

function accountTaken(accountId: string, ownerEmail: string | null): ProvisionError {
  return new ProvisionError(
    `ChatGPT account ${accountId} is already linked to ${ownerEmail ?? 'another user'}. One ChatGPT account can serve only one ` +
      'user (two users would share one refresh token and sign each other out). Provision that email instead, or use the ' +
      'auth.json of another ChatGPT account.',
  );
}

async function main(): Promise<void> {
  const options = readOptions();
  const bundle = readAuthFile(options.authFile);
  const secrets = readSecrets(options.target.remote, options.envFile);
  const keyring = await getKeyring(secrets.encryptionKey);

  const existing = await d1Query<{ id: string }>(options.target, `SELECT id FROM users WHERE email = ${sqlLiteral(options.email)}`);
  const userId = existing[0]?.id ?? crypto.randomUUID();
  // One ChatGPT account serves one user: two users on one refresh-token family sign each other out.
  const owner = await d1Query<{ email: string }>(options.target, inlineSql(ACCOUNT_OWNER_SQL, [bundle.accountId, userId]));
  if (owner[0]) throw accountTaken(bundle.accountId, owner[0].email);
  const now = Date.now();
  const sealed = await sealTokenBundle(keyring, userId, bundle);
  const minted = await mintProxyKey(secrets.pepper);

  await d1ExecuteStatements(options.target, [
    // Refused by the statement's own check or by the unique index if another link lands meanwhile.
    inlineSql(UPSERT_USER_SQL, upsertUserParams(userId, options.email, options.displayName, now)),
    inlineSql(REPLACE_CODEX_TOKENS_SQL, replaceCodexTokensParams(userId, sealed, now)),
    inlineSql(INSERT_API_KEY_SQL, insertApiKeyParams({
      id: minted.id, userId, keyHash: minted.hash, keyHint: minted.hint, name: options.keyName, now,
    })),
  ]).catch((err: unknown) => {
    if (String(err instanceof Error ? err.message : err).includes('codex_tokens.account_id')) throw accountTaken(bundle.accountId, null);
    throw err;
  });
  // The tokens are only in D1 (wrangler cannot reach the AuthBroker): the Worker's key check reads
  // the row's version with the key, and a newer version makes the broker drop its cached tokens.

  const where = options.target.remote ? 'the remote D1 database' : 'the local D1 database';
  console.log(`${existing.length > 0 ? 'Updated' : 'Created'} ${options.email} in ${where}; ChatGPT account ${bundle.accountId}` +
    `${bundle.planType ? ` (${bundle.planType})` : ''} linked.`);
  console.log(`\nProxy key "${options.keyName}" (shown once; store it now):\n\n  ${minted.key}\n`);
}

main().catch((err: unknown) => {
  if (err instanceof ProvisionError || err instanceof ConfigError) {
    console.error(`provision: ${err.message}`);
    process.exit(2);
  }
  console.error('provision failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});

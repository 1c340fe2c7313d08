/**
 * Parses the text of a Codex CLI `~/.codex/auth.json` (CODEX-PROTOCOL §1) into a TokenBundle.
 * Pure; used by `npm run provision` (Node) and available to the Worker. Error messages say
 * what is wrong with the file and never contain a token.
 */
import { z } from 'zod';
import { readTokenClaims } from './jwt.ts';
import type { TokenBundle } from './token-bundle.ts';

/** The auth file cannot be used. `message` is safe to show to the operator. */
export class AuthFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthFileError';
  }
}

const nonEmpty = z.string().trim().min(1);

// Unknown fields are allowed: newer CLIs add some, and they do not matter here.
const authFileSchema = z.looseObject({
  auth_mode: z.string().nullish(),
  OPENAI_API_KEY: z.string().nullish(),
  tokens: z
    .looseObject({
      id_token: z.string().nullish(),
      // Optional here so a missing token is reported as missing (below), not as a wrong type.
      access_token: z.unknown().optional(),
      refresh_token: z.unknown().optional(),
      account_id: z.string().nullish(),
    })
    .nullish(),
  last_refresh: z.string().nullish(),
});

/** `tokens.account_id (expected string)`: the field and, for a type mismatch, what was expected. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.join('.') || '(the whole file)';
  return issue.code === 'invalid_type' ? `${field} (expected ${issue.expected})` : field;
}

/** Validates auth.json text and returns the bundle to store; throws AuthFileError. */
export function parseCodexAuthFile(text: string): TokenBundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AuthFileError('The auth file is not valid JSON. Expected the ~/.codex/auth.json written by `codex login`.');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AuthFileError('The auth file is not a JSON object. Expected the ~/.codex/auth.json written by `codex login`.');
  }

  const parsed = authFileSchema.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map(describeIssue))].join(', ');
    throw new AuthFileError(`The auth file has fields of the wrong type: ${fields}. Run \`codex login\` again to get a valid file.`);
  }
  const file = parsed.data;

  if (!file.tokens) {
    if (file.OPENAI_API_KEY || file.auth_mode === 'apikey') {
      throw new AuthFileError(
        'This auth file is an API-key login (OPENAI_API_KEY), which cannot use a ChatGPT subscription. ' +
          'Sign in with ChatGPT instead: run `codex login` and choose "Sign in with ChatGPT", then use the new auth.json.',
      );
    }
    throw new AuthFileError('The auth file has no "tokens" object. Run `codex login` and sign in with ChatGPT.');
  }

  const accessToken = nonEmpty.safeParse(file.tokens.access_token);
  const refreshToken = nonEmpty.safeParse(file.tokens.refresh_token);
  const missing = [
    accessToken.success ? null : 'tokens.access_token',
    refreshToken.success ? null : 'tokens.refresh_token',
  ].filter((name) => name !== null);
  if (!accessToken.success || !refreshToken.success) {
    throw new AuthFileError(`The auth file is missing ${missing.join(' and ')}. Run \`codex login\` again to get a complete file.`);
  }

  const idToken = file.tokens.id_token?.trim() || null;
  const claims = readTokenClaims(idToken, accessToken.data);
  const accountId = file.tokens.account_id?.trim() || claims.accountId;
  if (!accountId) {
    throw new AuthFileError(
      'The auth file has no ChatGPT account id: tokens.account_id is missing and the id token carries no chatgpt_account_id. ' +
        'Run `codex login` again.',
    );
  }

  const lastRefresh = file.last_refresh ? Date.parse(file.last_refresh) : Number.NaN;
  return {
    accessToken: accessToken.data,
    refreshToken: refreshToken.data,
    idToken,
    accountId,
    expiresAt: claims.expiresAt,
    planType: claims.planType,
    email: claims.email,
    refreshedAt: Number.isFinite(lastRefresh) ? lastRefresh : null,
  };
}

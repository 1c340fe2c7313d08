/**
 * Reads what the user pasted on /onboarding: the address the browser landed on after the
 * ChatGPT sign-in (`http://localhost:1455/auth/callback?code=…&state=…`). Pure.
 * Lenient about form (no scheme, only the query string, surrounding spaces), strict about content.
 */
import { OAUTH_REDIRECT_URI } from '../upstream/oauth.ts';

export type PastedCallback =
  | { kind: 'ok'; code: string; state: string }
  /** The sign-in was cancelled or refused; `description` is the provider's text, if any. */
  | { kind: 'denied'; error: string; description: string | null }
  | { kind: 'unreadable'; reason: 'empty' | 'not_a_url' | 'no_code' | 'no_state' };

const MAX_PASTE_LENGTH = 8_192;

export function parsePastedCallback(pasted: string): PastedCallback {
  const text = pasted.trim();
  if (text === '') return { kind: 'unreadable', reason: 'empty' };
  if (text.length > MAX_PASTE_LENGTH) return { kind: 'unreadable', reason: 'not_a_url' };

  let url: URL;
  try {
    url = new URL(withScheme(text));
  } catch {
    return { kind: 'unreadable', reason: 'not_a_url' };
  }
  const params = url.searchParams;
  const error = params.get('error');
  if (error) return { kind: 'denied', error, description: params.get('error_description') };
  const code = params.get('code')?.trim() ?? '';
  const state = params.get('state')?.trim() ?? '';
  if (code === '') return { kind: 'unreadable', reason: 'no_code' };
  if (state === '') return { kind: 'unreadable', reason: 'no_state' };
  return { kind: 'ok', code, state };
}

function withScheme(text: string): string {
  if (/^https?:\/\//i.test(text)) return text;
  if (/^(localhost|127\.0\.0\.1)[:/]/i.test(text)) return `http://${text}`;
  // Only the query string (with or without its `?`).
  if (/^\??[\w.~-]+=/.test(text)) return `${OAUTH_REDIRECT_URI}?${text.replace(/^\?/, '')}`;
  return text;
}

/**
 * What of a request URL may reach a log line. Clients sometimes put keys in URLs (`?api_key=…`,
 * `?key=…`, a key pasted into the path); the Worker refuses them, but a log line would keep them.
 * Values of secret-sounding query parameters, and anything shaped like a key, become `[redacted]`.
 */

const REDACTED = '[redacted]';
/** Query parameter names whose values are secrets (api_key, key, access_token, client_secret, sig…). */
const SECRET_PARAM = /key|token|secret|passw|auth|session|signature|^sig$|^code$|^state$/i;
/** Our proxy keys and OpenAI-style keys, wherever they appear. */
const KEY_SHAPED = /(?:cpk_|sk-)[A-Za-z0-9_-]{8,}/g;

/** The path and query of `url`, decoded, with secrets replaced: safe to log. */
export function loggableUrl(url: string | URL): string {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  const path = redactKeyShaped(safeDecode(parsed.pathname));
  const params = [...parsed.searchParams].map(([name, value]) =>
    `${redactKeyShaped(name)}=${SECRET_PARAM.test(name) ? REDACTED : redactKeyShaped(value)}`);
  return params.length === 0 ? path : `${path}?${params.join('&')}`;
}

/** True when the URL carries something key-shaped or a key-named query parameter. */
export function urlCarriesKey(url: string | URL): boolean {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (redactKeyShaped(safeDecode(parsed.pathname)) !== safeDecode(parsed.pathname)) return true;
  for (const [name, value] of parsed.searchParams) {
    if (/key|token|secret/i.test(name) || redactKeyShaped(value) !== value) return true;
  }
  return false;
}

function redactKeyShaped(text: string): string {
  return text.replace(KEY_SHAPED, REDACTED);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

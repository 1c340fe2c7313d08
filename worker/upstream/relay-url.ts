/**
 * Pure allowlist for CODEX_RELAY_URL. An external relay receives every user's access
 * tokens, so two rules must both pass: https on a subdomain of workers.dev or fly.dev (the
 * outer bound, matched on the parsed host), and a host the operator named exactly in
 * EXTERNAL_RELAY_HOSTS, because anyone can register a fly.dev or workers.dev name and a typo
 * in CODEX_RELAY_URL would otherwise send the tokens to a stranger. Loopback relays exist for
 * local development only.
 */

const EXTERNAL_SUFFIXES = ['.workers.dev', '.fly.dev'];
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export type RelayUrlCheck =
  | { ok: true; origin: string; via: 'external' | 'loopback' }
  | { ok: false; reason: string };

export interface RelayUrlPolicy {
  enableExternalRelay: boolean;
  allowLoopbackRelay: boolean;
  /** EXTERNAL_RELAY_HOSTS: the exact host names an external relay may have (any case). */
  externalRelayHosts: readonly string[];
}

/** EXTERNAL_RELAY_HOSTS as a list: comma- or space-separated host names, lower-cased. */
export function parseRelayHosts(raw: string | undefined): string[] {
  return (raw ?? '').split(/[\s,]+/).map((host) => host.trim().toLowerCase()).filter((host) => host !== '');
}

function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || /^[0-9.]+$/.test(host) || /^0x/i.test(host);
}

/** Accepts the URL only as a bare origin that the policy allows; the reason never echoes secrets. */
export function checkRelayUrl(raw: string, policy: RelayUrlPolicy): RelayUrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'CODEX_RELAY_URL is not a valid URL' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'CODEX_RELAY_URL must not contain user info' };
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return { ok: false, reason: 'CODEX_RELAY_URL must be an origin without path, query or fragment' };
  }
  const host = url.hostname;

  if (LOOPBACK_HOSTS.has(host) || host.startsWith('127.')) {
    if (!policy.allowLoopbackRelay) {
      return { ok: false, reason: 'a loopback CODEX_RELAY_URL needs ALLOW_LOOPBACK_RELAY=true (local development only)' };
    }
    if (!LOOPBACK_HOSTS.has(host) || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      return { ok: false, reason: 'a loopback CODEX_RELAY_URL must be http://127.0.0.1:PORT or http://localhost:PORT' };
    }
    return { ok: true, origin: url.origin, via: 'loopback' };
  }

  if (!policy.enableExternalRelay) {
    return { ok: false, reason: 'CODEX_RELAY_URL is set but ENABLE_EXTERNAL_RELAY is not "true"' };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: 'an external CODEX_RELAY_URL must use https' };
  if (url.port !== '') return { ok: false, reason: 'an external CODEX_RELAY_URL must use the default https port' };
  if (isIpLiteral(host)) return { ok: false, reason: 'an external CODEX_RELAY_URL must name a host, not an IP address' };
  if (!EXTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix) && host.length > suffix.length)) {
    return { ok: false, reason: 'an external CODEX_RELAY_URL must be a host under .workers.dev or .fly.dev' };
  }
  if (policy.externalRelayHosts.length === 0) {
    return { ok: false, reason: 'EXTERNAL_RELAY_HOSTS is empty: name the external relay host there too' };
  }
  if (!policy.externalRelayHosts.some((allowed) => allowed.toLowerCase() === host)) {
    return { ok: false, reason: 'the host of CODEX_RELAY_URL is not one of EXTERNAL_RELAY_HOSTS' };
  }
  return { ok: true, origin: url.origin, via: 'external' };
}

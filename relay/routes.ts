/**
 * The relay's allowlist: the only upstream calls it will make. Pure data and a pure resolver, so
 * the "not an open proxy" rule can be unit-tested without sockets.
 */

export type UpstreamBase = 'codexBackend' | 'openaiAuth';

export type RelayRoute = {
  method: 'GET' | 'POST';
  /** Exact path the client must send (no prefix matching). */
  path: string;
  base: UpstreamBase;
  /** Path appended to the base URL. */
  upstreamPath: string;
};

export const RELAY_ROUTES: readonly RelayRoute[] = [
  { method: 'POST', path: '/backend-api/codex/responses', base: 'codexBackend', upstreamPath: '/codex/responses' },
  { method: 'GET', path: '/backend-api/codex/models', base: 'codexBackend', upstreamPath: '/codex/models' },
  { method: 'GET', path: '/backend-api/wham/usage', base: 'codexBackend', upstreamPath: '/wham/usage' },
  { method: 'POST', path: '/oauth/token', base: 'openaiAuth', upstreamPath: '/oauth/token' },
  // Device-code sign-in (`codex login --device-auth`): a code for the user, then polls until approved.
  { method: 'POST', path: '/api/accounts/deviceauth/usercode', base: 'openaiAuth', upstreamPath: '/api/accounts/deviceauth/usercode' },
  { method: 'POST', path: '/api/accounts/deviceauth/token', base: 'openaiAuth', upstreamPath: '/api/accounts/deviceauth/token' },
];

export type UpstreamBases = Record<UpstreamBase, string>;

export type ResolvedRoute =
  | { ok: true; route: RelayRoute; origin: string; path: string; url: string }
  | { ok: false; reason: 'malformed_target' | 'unlisted' };

/**
 * Maps a raw request line target (`req.url`, undecoded) to an upstream URL, or refuses it.
 * The query string is carried over verbatim; the path must equal an allowlisted path byte for byte,
 * which on its own already refuses `..`, percent-encoding, `//` and absolute-form targets. The
 * explicit checks below say so out loud and keep refusing if the table ever grows a pattern.
 */
export function resolveRoute(method: string, rawTarget: string, bases: UpstreamBases): ResolvedRoute {
  if (!rawTarget.startsWith('/') || rawTarget.startsWith('//') || rawTarget.includes('#')) {
    return { ok: false, reason: 'malformed_target' };
  }
  const queryAt = rawTarget.indexOf('?');
  const path = queryAt === -1 ? rawTarget : rawTarget.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rawTarget.slice(queryAt);
  if (
    path.includes('//') ||
    path.includes('%') ||
    path.includes('\\') ||
    path.split('/').some((segment) => segment === '.' || segment === '..')
  ) {
    return { ok: false, reason: 'malformed_target' };
  }
  const route = RELAY_ROUTES.find((r) => r.method === method && r.path === path);
  if (!route) return { ok: false, reason: 'unlisted' };
  const url = new URL(bases[route.base] + route.upstreamPath + query);
  return { ok: true, route, origin: url.origin, path: url.pathname + url.search, url: url.href };
}

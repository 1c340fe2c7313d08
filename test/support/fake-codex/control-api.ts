/**
 * `/__fake/*`: the HTTP face of `FakeCodexState`, for tests that only have fetch (workerd) or run in
 * another process. Each route maps to one state method; `control.ts` is its client.
 */
import type { IncomingMessage } from 'node:http';
import { readBody, type Answer } from './http.ts';
import { FakeStateError, type FakeCodexState } from './state.ts';

type Handler = (state: FakeCodexState, params: string[], body: any) => unknown;

/** [method, path pattern (`:x` = one segment), handler]. */
const ROUTES: [string, string, Handler][] = [
  ['POST', '/__fake/families', (s, _p, b) => s.createFamily(b ?? {})],
  ['GET', '/__fake/families/:family', (s, [f]) => s.family(f!)],
  ['PATCH', '/__fake/families/:family', (s, [f], b) => s.setFamily(f!, b ?? {})],
  ['POST', '/__fake/families/:family/token-script', (s, [f], b) => s.scriptTokenEndpoint(f!, b?.steps ?? [])],
  ['POST', '/__fake/authorization-codes', (s, _p, b) => s.createAuthorizationCode(b ?? {})],
  ['PATCH', '/__fake/device-auth', (s, _p, b) => s.deviceAuth.settings(b ?? {})],
  ['GET', '/__fake/device-codes/:code', (s, [c]) => s.deviceAuth.info(c!)],
  ['POST', '/__fake/device-codes/:code/approve', (s, [c], b) => s.deviceAuth.approve(c!, b ?? {})],
  ['POST', '/__fake/device-codes/:code/expire', (s, [c]) => s.deviceAuth.expire(c!)],
  ['PUT', '/__fake/device-codes/:code/pending-status', (s, [c], b) => s.deviceAuth.setPendingStatus(c!, b?.status === 404 ? 404 : 403)],
  ['POST', '/__fake/accounts/:account/response-script', (s, [a], b) => s.scriptResponses(a!, b?.steps ?? [])],
  ['DELETE', '/__fake/accounts/:account/response-script', (s, [a]) => s.clearResponseScript(a!)],
  ['GET', '/__fake/accounts/:account/requests', (s, [a]) => s.requests(a!)],
  ['GET', '/__fake/accounts/:account/stats', (s, [a]) => s.accountStats(a!)],
  ['PUT', '/__fake/accounts/:account/rate-limits', (s, [a], b) => (s.setRateLimits(a!, b?.headers ?? {}), { ok: true })],
  ['PUT', '/__fake/accounts/:account/usage', (s, [a], b) => (s.setUsage(a!, b?.usage ?? null), { ok: true })],
  ['PUT', '/__fake/accounts/:account/models', (s, [a], b) => (s.setModels(a!, b ?? {}), { ok: true })],
  ['GET', '/__fake/accounts/:account/models-requests', (s, [a]) => s.modelsRequests(a!)],
  ['GET', '/__fake/accounts/:account/usage-requests', (s, [a]) => s.usageRequests(a!)],
];

function match(pattern: string, path: string): string[] | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) params.push(decodeURIComponent(g));
    else if (w !== g) return undefined;
  }
  return params;
}

export async function handleControl(state: FakeCodexState, req: IncomingMessage): Promise<Answer> {
  const path = new URL(req.url ?? '/', 'http://fake').pathname;
  for (const [method, pattern, handler] of ROUTES) {
    const params = match(pattern, path);
    if (!params || method !== req.method) continue;
    const raw = (await readBody(req)).toString('utf8');
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      return { status: 400, body: { error: 'control body must be JSON' } };
    }
    try {
      return { status: 200, body: (handler(state, params, body) ?? { ok: true }) as object };
    } catch (error) {
      if (error instanceof FakeStateError) return { status: error.status, body: { error: error.message } };
      throw error;
    }
  }
  return { status: 404, body: { error: `no control route ${req.method} ${path}` } };
}

/**
 * A fake of the Codex backend and the OpenAI OAuth token endpoint, speaking the wire format of
 * CODEX-PROTOCOL.md over real HTTP. It serves the same paths as the relay, so it can stand in for the
 * relay (point the Worker at it) or for the real upstream (CODEX_BACKEND_URL=<url>/backend-api,
 * OPENAI_AUTH_URL=<url>).
 *
 *   const fake = await startFakeCodex();
 *   const { accountId, tokens } = fake.state.createFamily();
 *   fake.state.scriptResponses(accountId, [{ kind: 'usage_limit' }]);
 *   ...
 *   await fake.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeCodexControl } from './control.ts';
import { handleControl } from './control-api.ts';
import { send } from './http.ts';
import { handleToken } from './oauth.ts';
import { handleModels, handleResponses, handleUsage } from './responses.ts';
import { FakeCodexState } from './state.ts';

export { FakeCodexControl } from './control.ts';
export { FakeCodexState } from './state.ts';
export * from './types.ts';
export * from './device-types.ts';

export type FakeCodex = {
  /** Root URL, e.g. `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  /** In-process access to the fake's state (synchronous; same methods as `control`). */
  state: FakeCodexState;
  /** The HTTP control client bound to this fake (what workerd tests use). */
  control: FakeCodexControl;
  /** Stops listening and cuts every open connection (hanging streams included). */
  close(): Promise<void>;
};

export type StartOptions = { port?: number; host?: string };

export async function startFakeCodex(options: StartOptions = {}): Promise<FakeCodex> {
  const state = new FakeCodexState();
  const server = createServer((req, res) => {
    route(state, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { detail: `fake-codex crashed: ${String(error)}` } });
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    state,
    control: new FakeCodexControl(url),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(state: FakeCodexState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (path?.startsWith('/__fake/')) return send(res, await handleControl(state, req));
  if (method === 'POST' && path === '/oauth/token') return send(res, await handleToken(state, req));
  if (method === 'POST' && path === '/api/accounts/deviceauth/usercode') return send(res, await state.deviceAuth.handleUserCode(req));
  if (method === 'POST' && path === '/api/accounts/deviceauth/token') return send(res, await state.deviceAuth.handleToken(req));
  if (method === 'POST' && path === '/backend-api/codex/responses') return handleResponses(state, req, res);
  if (method === 'GET' && path === '/backend-api/codex/models') return handleModels(state, req, res);
  if (method === 'GET' && path === '/backend-api/wham/usage') return handleUsage(state, req, res);
  // Like the relay, so the fake can stand in for it.
  if (method === 'GET' && path === '/healthz') return send(res, { status: 200, body: { ok: true } });
  send(res, { status: 404, body: { detail: 'Not Found' } });
}

import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  chooseEgress, codexClientVersion, codexHeaders, DEFAULT_CODEX_CLIENT_VERSION, resolveEgress, upstreamFetch, type EgressConfig,
} from '../../../worker/upstream/egress.ts';

const base: EgressConfig = { relayUrl: '', enableExternalRelay: false, allowLoopbackRelay: false, externalRelayHosts: [], hasContainer: true };

describe('upstream traffic leaves through the relay the operator configured', () => {
  it('uses the container relay by default when it is bound', () => {
    expect(chooseEgress(base)).toEqual({ egress: { kind: 'container' }, ignored: null });
  });

  it('goes direct only when no relay of any kind is available', () => {
    expect(chooseEgress({ ...base, hasContainer: false }).egress).toEqual({ kind: 'direct' });
  });

  it('prefers an allowed external relay over the container', () => {
    const choice = chooseEgress({ ...base, relayUrl: 'https://r.fly.dev', enableExternalRelay: true, externalRelayHosts: ['r.fly.dev'] });
    expect(choice.egress).toEqual({ kind: 'relay', origin: 'https://r.fly.dev', via: 'external' });
  });

  it('falls back to the container and explains why when the external URL is not allowed', () => {
    const choice = chooseEgress({ ...base, relayUrl: 'https://evil.example.com', enableExternalRelay: true });
    expect(choice.egress).toEqual({ kind: 'container' });
    expect(choice.ignored).toMatch(/workers\.dev or \.fly\.dev/);
  });

  it('uses a loopback relay in development', () => {
    const choice = chooseEgress({ ...base, relayUrl: 'http://127.0.0.1:9000', allowLoopbackRelay: true });
    expect(choice.egress).toEqual({ kind: 'relay', origin: 'http://127.0.0.1:9000', via: 'loopback' });
  });
});

describe('the external relay as the Worker really uses it', () => {
  afterEach(() => vi.restoreAllMocks());

  /** Captures the Worker's outgoing fetches instead of letting them reach the network. */
  function captureFetches() {
    const calls: Request[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      calls.push(new Request(input, init));
      return new Response('{}', { headers: { 'content-type': 'application/json' } });
    });
    return calls;
  }

  it('sends every upstream call to an allowed relay with X-Relay-Token', async () => {
    const calls = captureFetches();
    const relayEnv = { ...env, CODEX_RELAY_URL: 'https://my-relay.fly.dev', ENABLE_EXTERNAL_RELAY: 'true',
      EXTERNAL_RELAY_HOSTS: 'other-relay.fly.dev, MY-RELAY.fly.dev', UPSTREAM_RELAY_TOKEN: 'relay-secret' };
    await upstreamFetch(relayEnv, 'responses', { method: 'POST', headers: codexHeaders({ accessToken: 'at', accountId: 'a' }), body: '{}' });
    await upstreamFetch(relayEnv, 'oauth_token', { method: 'POST', body: 'grant_type=refresh_token' });
    expect(calls.map((c) => c.url)).toEqual(['https://my-relay.fly.dev/backend-api/codex/responses', 'https://my-relay.fly.dev/oauth/token']);
    expect(calls.map((c) => c.headers.get('x-relay-token'))).toEqual(['relay-secret', 'relay-secret']);
  });

  it('never sends the relay token to ChatGPT itself on the direct path', async () => {
    const calls = captureFetches();
    const directEnv = { ...env, CODEX_RELAY_URL: '', UPSTREAM_RELAY_TOKEN: 'relay-secret', CODEX_RELAY: undefined as unknown as Env['CODEX_RELAY'] };
    await upstreamFetch(directEnv, 'models', { method: 'GET', headers: codexHeaders({ accessToken: 'at', accountId: 'a' }) });
    expect(calls[0]!.url).toBe('https://chatgpt.com/backend-api/codex/models');
    expect(calls[0]!.headers.has('x-relay-token')).toBe(false);
  });

  it('logs once, clearly and without the URL’s secrets, when a configured relay URL is ignored', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const ignoredEnv = { ...env, CODEX_RELAY_URL: 'https://admin:pa55word@relay.example.com', ENABLE_EXTERNAL_RELAY: 'true' };
    expect(resolveEgress(ignoredEnv)).toEqual({ kind: 'container' });
    expect(resolveEgress(ignoredEnv)).toEqual({ kind: 'container' });
    expect(warn).toHaveBeenCalledTimes(1);
    const line = JSON.parse(String(warn.mock.calls[0]![0])) as Record<string, string>;
    expect(line).toMatchObject({ event: 'relay_url_ignored', using: 'container' });
    expect(line.reason).toMatch(/must not contain user info/);
    expect(JSON.stringify(line)).not.toContain('pa55word');
  });

  it('sends nothing to a fly.dev relay the operator did not name, and logs why', async () => {
    const calls = captureFetches();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const typoEnv = { ...env, CODEX_RELAY_URL: 'https://my-reley.fly.dev', ENABLE_EXTERNAL_RELAY: 'true',
      EXTERNAL_RELAY_HOSTS: 'my-relay.fly.dev', UPSTREAM_RELAY_TOKEN: 'relay-secret', CODEX_RELAY: undefined as unknown as Env['CODEX_RELAY'] };
    await upstreamFetch(typoEnv, 'oauth_token', { method: 'POST', body: 'grant_type=refresh_token' });
    expect(calls.map((c) => new URL(c.url).host)).toEqual(['auth.openai.com']);
    const line = JSON.parse(String(warn.mock.calls[0]![0])) as Record<string, string>;
    expect(line).toMatchObject({ event: 'relay_url_ignored', using: 'direct' });
    expect(line.reason).toContain('EXTERNAL_RELAY_HOSTS');
  });

  it('ignores an allowed host while ENABLE_EXTERNAL_RELAY is off, and says which variable to set', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(resolveEgress({ ...env, CODEX_RELAY_URL: 'https://my-relay.fly.dev', ENABLE_EXTERNAL_RELAY: 'false' })).toEqual({ kind: 'container' });
    expect(String(warn.mock.calls[0]![0])).toContain('ENABLE_EXTERNAL_RELAY');
  });
});

describe('requests carry the headers the Codex backend expects', () => {
  it('sends the account, the client identity and the session id', () => {
    const headers = codexHeaders({ accessToken: 'at', accountId: 'acc_1', sessionId: 'sess-1' });
    expect(Object.fromEntries(headers)).toMatchObject({
      authorization: 'Bearer at',
      'chatgpt-account-id': 'acc_1',
      accept: 'text/event-stream',
      'content-type': 'application/json',
      originator: 'codex_cli_rs',
      session_id: 'sess-1',
    });
    expect(headers.get('version')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(headers.get('user-agent')).toMatch(/^codex_cli_rs\/\d+\.\d+\.\d+ /);
  });

  it('presents the configured CODEX_CLIENT_VERSION, and ignores one that is not x.y.z', () => {
    const headers = codexHeaders({ accessToken: 'at', accountId: 'acc_1', clientVersion: codexClientVersion({ CODEX_CLIENT_VERSION: '0.180.2' }) });
    expect(headers.get('version')).toBe('0.180.2');
    expect(headers.get('user-agent')).toMatch(/^codex_cli_rs\/0\.180\.2 /);
    expect(codexClientVersion({})).toBe(DEFAULT_CODEX_CLIENT_VERSION);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(codexClientVersion({ CODEX_CLIENT_VERSION: 'latest' })).toBe(DEFAULT_CODEX_CLIENT_VERSION);
    expect(String(warn.mock.calls[0]![0])).toContain('CODEX_CLIENT_VERSION');
    warn.mockRestore();
  });
});

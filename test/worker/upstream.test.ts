import { describe, expect, it } from 'vitest';
import { chooseEgress, codexHeaders, type EgressConfig } from '../../worker/upstream.ts';

const base: EgressConfig = { relayUrl: '', enableExternalRelay: false, allowLoopbackRelay: false, hasContainer: true };

describe('upstream traffic leaves through the relay the operator configured', () => {
  it('uses the container relay by default when it is bound', () => {
    expect(chooseEgress(base)).toEqual({ egress: { kind: 'container' }, ignored: null });
  });

  it('goes direct only when no relay of any kind is available', () => {
    expect(chooseEgress({ ...base, hasContainer: false }).egress).toEqual({ kind: 'direct' });
  });

  it('prefers an allowed external relay over the container', () => {
    const choice = chooseEgress({ ...base, relayUrl: 'https://r.fly.dev', enableExternalRelay: true });
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
});

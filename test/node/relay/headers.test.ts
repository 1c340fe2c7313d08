import { describe, expect, it } from 'vitest';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../../relay/headers.ts';

describe('relay header filtering', () => {
  const incoming = {
    host: 'relay.example',
    authorization: 'Bearer at',
    'chatgpt-account-id': 'acc_1',
    originator: 'codex_cli_rs',
    session_id: 'sess',
    version: '0.99.0',
    'user-agent': 'codex_cli_rs/0.99.0',
    accept: 'text/event-stream',
    'content-type': 'application/json',
    'content-length': '12',
    'x-relay-token': 'secret',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'https',
    forwarded: 'for=203.0.113.9',
    'x-real-ip': '203.0.113.9',
    'cf-connecting-ip': '203.0.113.9',
    'cf-ray': 'abc',
    'cdn-loop': 'cloudflare',
    'true-client-ip': '203.0.113.9',
    via: '1.1 proxy',
    'fly-client-ip': '203.0.113.9',
    connection: 'keep-alive, X-Private-Hop',
    'x-private-hop': 'yes',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    'transfer-encoding': 'chunked',
    'proxy-authorization': 'Basic x',
    expect: '100-continue',
  };

  it('forwards the Codex headers and nothing that identifies the caller, the hop or the relay token', () => {
    expect(upstreamRequestHeaders(incoming, { forwardBody: true })).toEqual({
      authorization: 'Bearer at',
      'chatgpt-account-id': 'acc_1',
      originator: 'codex_cli_rs',
      session_id: 'sess',
      version: '0.99.0',
      'user-agent': 'codex_cli_rs/0.99.0',
      accept: 'text/event-stream',
      'content-type': 'application/json',
      'content-length': '12',
    });
  });

  it('drops content-length when no body is forwarded', () => {
    expect(upstreamRequestHeaders({ 'content-length': '0', accept: '*/*' }, { forwardBody: false })).toEqual({ accept: '*/*' });
  });

  it('strips hop-by-hop headers from upstream responses, including those named in Connection', () => {
    expect(
      downstreamResponseHeaders({
        'content-type': 'text/event-stream',
        'x-codex-primary-used-percent': '12',
        'set-cookie': ['a=1', 'b=2'],
        connection: 'close, X-Upstream-Hop',
        'x-upstream-hop': '1',
        'transfer-encoding': 'chunked',
        'keep-alive': 'timeout=5',
      }),
    ).toEqual({ 'content-type': 'text/event-stream', 'x-codex-primary-used-percent': '12', 'set-cookie': ['a=1', 'b=2'] });
  });
});

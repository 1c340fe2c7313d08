import { describe, expect, it } from 'vitest';
import { isLoopbackHost, loadRelayConfig, RelayConfigError } from '../../../relay/config.ts';

const LONG_TOKEN = 'a'.repeat(32);

describe('relay config', () => {
  it('uses the documented defaults on loopback without a token', () => {
    const config = loadRelayConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8788,
      relayToken: undefined,
      codexBackendUrl: 'https://chatgpt.com/backend-api',
      openaiAuthUrl: 'https://auth.openai.com',
      allowInsecure: false,
    });
    expect(config.bodyLimitBytes).toBe(32 * 1024 * 1024);
  });

  it('bounds silence, not total time, by default (streams and large uploads may take long), and caps connections', () => {
    const config = loadRelayConfig({});
    expect(config).toMatchObject({ requestIdleTimeoutMs: 30_000, bodyIdleTimeoutMs: 300_000, maxConnections: 1024 });
    expect(config).not.toHaveProperty('requestTimeoutMs');
    expect(config.maxConnections).toBeGreaterThan(config.maxConcurrentRequests);
  });

  it.each(['0.0.0.0', '::', '192.168.1.5', 'relay.example.com', '128.0.0.1'])(
    'refuses to start on non-loopback HOST=%s without UPSTREAM_RELAY_TOKEN',
    (host) => {
      expect(() => loadRelayConfig({ HOST: host })).toThrow(RelayConfigError);
      expect(() => loadRelayConfig({ HOST: host })).toThrow(/UPSTREAM_RELAY_TOKEN/);
    },
  );

  it('treats an empty UPSTREAM_RELAY_TOKEN like a missing one', () => {
    expect(() => loadRelayConfig({ HOST: '0.0.0.0', UPSTREAM_RELAY_TOKEN: '  ' })).toThrow(/UPSTREAM_RELAY_TOKEN/);
  });

  it('starts on a public address once a token is set', () => {
    expect(loadRelayConfig({ HOST: '0.0.0.0', UPSTREAM_RELAY_TOKEN: LONG_TOKEN }).relayToken).toBe(LONG_TOKEN);
  });

  it('refuses a guessable token on a public address, but not on loopback', () => {
    expect(() => loadRelayConfig({ HOST: '0.0.0.0', UPSTREAM_RELAY_TOKEN: 's3cret' })).toThrow(/shorter than 32/);
    expect(loadRelayConfig({ HOST: '127.0.0.1', UPSTREAM_RELAY_TOKEN: 's3cret' }).relayToken).toBe('s3cret');
  });

  it('starts on a public address without a token only with RELAY_ALLOW_INSECURE=true', () => {
    expect(loadRelayConfig({ HOST: '0.0.0.0', RELAY_ALLOW_INSECURE: 'true' }).allowInsecure).toBe(true);
    expect(() => loadRelayConfig({ HOST: '0.0.0.0', RELAY_ALLOW_INSECURE: 'false' })).toThrow(/UPSTREAM_RELAY_TOKEN/);
    expect(() => loadRelayConfig({ RELAY_ALLOW_INSECURE: 'yes please' })).toThrow(/RELAY_ALLOW_INSECURE/);
  });

  it.each(['127.0.0.1', '127.4.5.6', '::1', '[::1]', 'localhost', 'LOCALHOST', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])(
    'accepts loopback HOST=%s without a token',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
      expect(loadRelayConfig({ HOST: host }).host).toBe(host);
    },
  );

  it('points upstream bases wherever the env says, without a trailing slash', () => {
    const config = loadRelayConfig({ CODEX_BACKEND_URL: 'http://127.0.0.1:9/backend-api/', OPENAI_AUTH_URL: 'http://127.0.0.1:9' });
    expect(config.codexBackendUrl).toBe('http://127.0.0.1:9/backend-api');
    expect(config.openaiAuthUrl).toBe('http://127.0.0.1:9');
  });

  it('names the offending variable for malformed values', () => {
    expect(() => loadRelayConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadRelayConfig({ CODEX_BACKEND_URL: 'ftp://x' })).toThrow(/CODEX_BACKEND_URL/);
    expect(() => loadRelayConfig({ OPENAI_AUTH_URL: 'https://user:pw@auth.openai.com' })).toThrow(/OPENAI_AUTH_URL/);
    expect(() => loadRelayConfig({ RELAY_BODY_LIMIT_BYTES: '-1' })).toThrow(/RELAY_BODY_LIMIT_BYTES/);
  });

  it('reads the hardening knobs', () => {
    const config = loadRelayConfig({
      RELAY_BODY_LIMIT_BYTES: '2048',
      RELAY_CONNECT_TIMEOUT_MS: '1000',
      RELAY_HEADERS_TIMEOUT_MS: '2000',
      RELAY_BODY_IDLE_TIMEOUT_MS: '3000',
      RELAY_REQUEST_IDLE_TIMEOUT_MS: '3500',
      RELAY_MAX_CONCURRENT_REQUESTS: '5',
      RELAY_MAX_CONNECTIONS: '7',
      RELAY_SHUTDOWN_GRACE_MS: '4000',
      RELAY_AUTH_FAILURE_LIMIT: '3',
      RELAY_AUTH_FAILURE_WINDOW_MS: '5000',
      RELAY_CLIENT_IP_HEADER: 'Fly-Client-IP',
    });
    expect(config).toMatchObject({
      bodyLimitBytes: 2048,
      connectTimeoutMs: 1000,
      headersTimeoutMs: 2000,
      bodyIdleTimeoutMs: 3000,
      requestIdleTimeoutMs: 3500,
      maxConcurrentRequests: 5,
      maxConnections: 7,
      shutdownGraceMs: 4000,
      authFailureLimit: 3,
      authFailureWindowMs: 5000,
      clientIpHeader: 'fly-client-ip',
    });
  });

  it('keys clients by socket address unless a proxy header is named, and refuses a malformed name', () => {
    expect(loadRelayConfig({}).clientIpHeader).toBeUndefined();
    expect(() => loadRelayConfig({ RELAY_CLIENT_IP_HEADER: 'x-ip: evil' })).toThrow(/RELAY_CLIENT_IP_HEADER/);
  });
});

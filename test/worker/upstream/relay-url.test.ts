import { describe, expect, it } from 'vitest';
import { checkRelayUrl } from '../../../worker/upstream/relay-url.ts';

/** The operator names the exact host of each accepted URL below (EXTERNAL_RELAY_HOSTS). */
const external = {
  enableExternalRelay: true,
  allowLoopbackRelay: false,
  externalRelayHosts: ['my-relay.fly.dev', 'relay.someone.workers.dev', 'xn--rly-0ma.fly.dev', 'evil.fly.dev.attacker.com'],
};

describe('an external CODEX_RELAY_URL is used only for https hosts under workers.dev or fly.dev', () => {
  it.each([
    ['https://my-relay.fly.dev', 'https://my-relay.fly.dev'],
    ['https://my-relay.fly.dev/', 'https://my-relay.fly.dev'],
    ['https://relay.someone.workers.dev', 'https://relay.someone.workers.dev'],
    ['HTTPS://MY-RELAY.FLY.DEV', 'https://my-relay.fly.dev'],
    ['https://my-relay.fly.dev:443', 'https://my-relay.fly.dev'],
    ['https://xn--rly-0ma.fly.dev', 'https://xn--rly-0ma.fly.dev'],
  ])('accepts %s', (raw, origin) => {
    expect(checkRelayUrl(raw, external)).toEqual({ ok: true, origin, via: 'external' });
  });

  it.each([
    ['userinfo pointing elsewhere', 'https://my-relay.fly.dev@evil.com'],
    ['userinfo on an allowed host', 'https://user:pass@my-relay.fly.dev'],
    ['a lookalike parent domain', 'https://evil.fly.dev.attacker.com'],
    ['the bare suffix', 'https://fly.dev'],
    ['the bare workers.dev suffix', 'https://workers.dev'],
    ['a suffix without the dot', 'https://evilfly.dev'],
    ['a trailing dot', 'https://my-relay.fly.dev.'],
    ['plain http', 'http://my-relay.fly.dev'],
    ['an odd port', 'https://my-relay.fly.dev:8443'],
    ['an IPv4 literal', 'https://1.2.3.4'],
    ['an IPv6 literal', 'https://[2001:db8::1]'],
    ['an unlisted host', 'https://relay.example.com'],
    ['a path', 'https://my-relay.fly.dev/relay'],
    ['a query', 'https://my-relay.fly.dev/?x=1'],
    ['a backslash trick', 'https://evil.com\\@my-relay.fly.dev'],
    ['a unicode lookalike of fly.dev', 'https://relay.fly.dеv'],
    ['another scheme', 'ftp://my-relay.fly.dev'],
    ['not a URL', 'my-relay.fly.dev'],
    ['a loopback address while loopback is off', 'http://127.0.0.1:8788'],
  ])('rejects %s', (_what, raw) => {
    const result = checkRelayUrl(raw, external);
    expect(result.ok).toBe(false);
  });

  it('ignores an allowed host unless ENABLE_EXTERNAL_RELAY is true, and says so', () => {
    const result = checkRelayUrl('https://my-relay.fly.dev', { ...external, enableExternalRelay: false });
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('ENABLE_EXTERNAL_RELAY') });
  });

  it('ignores a host under the suffixes that the operator did not name exactly (a typo, a stranger’s app)', () => {
    for (const raw of ['https://my-relay2.fly.dev', 'https://my-rela.fly.dev', 'https://relay.someone-else.workers.dev', 'https://x.my-relay.fly.dev']) {
      expect(checkRelayUrl(raw, external)).toEqual({ ok: false, reason: expect.stringContaining('EXTERNAL_RELAY_HOSTS') });
    }
  });

  it('accepts nothing external while EXTERNAL_RELAY_HOSTS is empty, and says so', () => {
    const result = checkRelayUrl('https://my-relay.fly.dev', { ...external, externalRelayHosts: [] });
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('EXTERNAL_RELAY_HOSTS is empty') });
  });

  it('keeps the suffix rule as the outer bound: naming another host does not allow it', () => {
    const result = checkRelayUrl('https://relay.example.com', { ...external, externalRelayHosts: ['relay.example.com'] });
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('.workers.dev or .fly.dev') });
  });

  it('never repeats user info from the URL in its reason', () => {
    const result = checkRelayUrl('https://admin:s3cret-value@my-relay.fly.dev', external);
    expect(JSON.stringify(result)).not.toContain('s3cret-value');
  });
});

describe('a loopback CODEX_RELAY_URL is for local development only', () => {
  const dev = { enableExternalRelay: false, allowLoopbackRelay: true, externalRelayHosts: [] };

  it.each([
    ['http://127.0.0.1:8788', 'http://127.0.0.1:8788'],
    ['http://localhost:8788', 'http://localhost:8788'],
    ['http://[::1]:8788', 'http://[::1]:8788'],
    ['http://2130706433:8788', 'http://127.0.0.1:8788'],
  ])('accepts %s with ALLOW_LOOPBACK_RELAY', (raw, origin) => {
    expect(checkRelayUrl(raw, dev)).toEqual({ ok: true, origin, via: 'loopback' });
  });

  it('rejects loopback without ALLOW_LOOPBACK_RELAY, naming the variable', () => {
    const result = checkRelayUrl('http://127.0.0.1:8788', external);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('ALLOW_LOOPBACK_RELAY') });
  });

  it.each(['http://127.0.0.2:8788', 'http://10.0.0.1:8788', 'http://192.168.1.10:8788', 'http://169.254.169.254'])(
    'does not treat %s as an allowed loopback relay',
    (raw) => {
      expect(checkRelayUrl(raw, { ...external, allowLoopbackRelay: true, externalRelayHosts: ['127.0.0.2', '10.0.0.1'] }).ok).toBe(false);
    },
  );
});

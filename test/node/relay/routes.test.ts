import { describe, expect, it } from 'vitest';
import { RELAY_ROUTES, resolveRoute } from '../../../relay/routes.ts';

const bases = { codexBackend: 'https://chatgpt.example/backend-api', openaiAuth: 'https://auth.example' };

describe('relay allowlist', () => {
  it.each([
    ['POST', '/backend-api/codex/responses', 'https://chatgpt.example/backend-api/codex/responses'],
    ['GET', '/backend-api/codex/models?client_version=0.99.0', 'https://chatgpt.example/backend-api/codex/models?client_version=0.99.0'],
    ['GET', '/backend-api/wham/usage', 'https://chatgpt.example/backend-api/wham/usage'],
    ['POST', '/oauth/token', 'https://auth.example/oauth/token'],
    ['POST', '/api/accounts/deviceauth/usercode', 'https://auth.example/api/accounts/deviceauth/usercode'],
    ['POST', '/api/accounts/deviceauth/token', 'https://auth.example/api/accounts/deviceauth/token'],
  ])('forwards %s %s upstream', (method, target, url) => {
    const resolved = resolveRoute(method, target, bases);
    expect(resolved).toMatchObject({ ok: true, url });
  });

  it('keeps the base path of the upstream URL and the raw query string', () => {
    const resolved = resolveRoute('GET', '/backend-api/codex/models?a=1&b=%2F', bases);
    expect(resolved).toMatchObject({ ok: true, origin: 'https://chatgpt.example', path: '/backend-api/codex/models?a=1&b=%2F' });
  });

  it.each([
    ['GET', '/backend-api/codex/responses'],
    ['DELETE', '/oauth/token'],
    ['POST', '/backend-api/codex/responses/extra'],
    ['GET', '/backend-api/codex/models/'],
    ['GET', '/backend-api/codex'],
    ['GET', '/backend-api/accounts/check'],
    ['POST', '/oauth/authorize'],
    ['GET', '/BACKEND-API/codex/models'],
    // The device-code endpoints and nothing near them: only POST, only the two exact paths, only on the auth base.
    ['GET', '/api/accounts/deviceauth/usercode'],
    ['GET', '/api/accounts/deviceauth/token'],
    ['POST', '/api/accounts/deviceauth'],
    ['POST', '/api/accounts/deviceauth/callback'],
    ['POST', '/api/accounts/deviceauth/usercode/'],
    ['POST', '/api/accounts/check'],
    ['POST', '/api/accounts/me'],
    ['POST', '/deviceauth/callback'],
    ['POST', '/codex/device'],
    ['POST', '/backend-api/api/accounts/deviceauth/token'],
  ])('refuses unlisted %s %s', (method, target) => {
    expect(resolveRoute(method, target, bases)).toEqual({ ok: false, reason: 'unlisted' });
  });

  it.each([
    '/backend-api/../oauth/token',
    '/backend-api/codex/../../oauth/token',
    '/backend-api/codex/./models',
    '/backend-api/codex%2Fmodels',
    '/backend-api/codex/model%73',
    '/backend-api/%2e%2e/oauth/token',
    '//backend-api/codex/models',
    '/backend-api//codex/models',
    '/backend-api\\codex\\models',
    'http://evil.example/backend-api/codex/models',
    'https://chatgpt.com/backend-api/codex/models',
    'chatgpt.com:443',
    '*',
    '/oauth/token#frag',
  ])('refuses the malformed or disguised target %s', (target) => {
    expect(resolveRoute('GET', target, bases)).toEqual({ ok: false, reason: 'malformed_target' });
    expect(resolveRoute('POST', target, bases)).toEqual({ ok: false, reason: 'malformed_target' });
  });
});

describe('relay allowlist: device-code sign-in', () => {
  it('sends both device-auth endpoints to the auth base, never to the Codex backend', () => {
    for (const path of ['/api/accounts/deviceauth/usercode', '/api/accounts/deviceauth/token']) {
      const resolved = resolveRoute('POST', path, bases);
      expect(resolved).toMatchObject({ ok: true, origin: 'https://auth.example', route: { base: 'openaiAuth' } });
    }
  });

  it('allows exactly two paths under /api/accounts', () => {
    const listed = RELAY_ROUTES.filter((route) => route.path.startsWith('/api/'));
    expect(listed.map((route) => `${route.method} ${route.path} → ${route.base}`)).toEqual([
      'POST /api/accounts/deviceauth/usercode → openaiAuth',
      'POST /api/accounts/deviceauth/token → openaiAuth',
    ]);
  });
});

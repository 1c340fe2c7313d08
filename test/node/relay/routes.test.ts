import { describe, expect, it } from 'vitest';
import { resolveRoute } from '../../../relay/routes.ts';

const bases = { codexBackend: 'https://chatgpt.example/backend-api', openaiAuth: 'https://auth.example' };

describe('relay allowlist', () => {
  it.each([
    ['POST', '/backend-api/codex/responses', 'https://chatgpt.example/backend-api/codex/responses'],
    ['GET', '/backend-api/codex/models?client_version=0.99.0', 'https://chatgpt.example/backend-api/codex/models?client_version=0.99.0'],
    ['GET', '/backend-api/wham/usage', 'https://chatgpt.example/backend-api/wham/usage'],
    ['POST', '/oauth/token', 'https://auth.example/oauth/token'],
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

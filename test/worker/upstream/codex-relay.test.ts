/**
 * The container egress: which relay instance a request goes to, what the container is started
 * with, and what users see when the Containers runtime (not the relay) answers.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONTAINER_POOL_SIZE, RELAY_PORT, RELAY_VIA } from '../../../relay/contract.ts';
import { relayError, type RelayErrorCode } from '../../../relay/errors.ts';
import { relayAnswerOrUnavailable, relayContainerEnv } from '../../../worker/upstream/codex-relay.ts';
import { ApiError } from '../../../worker/shared/errors.ts';
import {
  CODEX_BACKEND_URL,
  OPENAI_AUTH_URL,
  codexHeaders,
  containerInstanceName,
  containerSlots,
  upstreamFetch,
} from '../../../worker/upstream/egress.ts';

const TOKEN = 'container-relay-token-0123456789abcdef';

type Seen = { instance: string; url: string; relayToken: string | null; body: string };

/** A CODEX_RELAY namespace whose instances answer with `answer(instance)` and record what they got. */
function fakeRelayNamespace(answer: (instance: string) => Response = () => relayAnswer('{"ok":true}')) {
  const seen: Seen[] = [];
  const namespace = {
    getByName: (instance: string) => ({
      fetch: async (request: Request) => {
        seen.push({ instance, url: request.url, relayToken: request.headers.get('x-relay-token'), body: await request.text() });
        return answer(instance);
      },
    }),
  };
  const containerEnv = {
    ...env,
    CODEX_RELAY_URL: '',
    UPSTREAM_RELAY_TOKEN: TOKEN,
    CODEX_RELAY: namespace as unknown as Env['CODEX_RELAY'],
  };
  return { seen, env: containerEnv };
}

const relayAnswer = (body: string, init: ResponseInit = {}) =>
  new Response(body, { ...init, headers: { via: RELAY_VIA, ...(init.headers as Record<string, string>) } });

function relayErrorAnswer(code: RelayErrorCode): Response {
  const { status, headers, body } = relayError(code);
  return Response.json(body, { status, headers: { ...headers, via: RELAY_VIA } });
}

const grant = (accountId: string) => codexHeaders({ accessToken: 'at', accountId });

describe('the Worker uses the relay container when no external relay is configured', () => {
  it('sends model and token calls to the container with X-Relay-Token and the relay paths', async () => {
    const fake = fakeRelayNamespace();
    await upstreamFetch(fake.env, 'models', { method: 'GET', headers: grant('acc_models'), search: '?client_version=1' });
    await upstreamFetch(fake.env, 'oauth_token', { method: 'POST', body: 'grant_type=refresh_token' });
    expect(fake.seen.map((s) => new URL(s.url).pathname + new URL(s.url).search)).toEqual([
      '/backend-api/codex/models?client_version=1',
      '/oauth/token',
    ]);
    expect(fake.seen.every((s) => s.relayToken === TOKEN)).toBe(true);
    expect(fake.seen[1]!.body).toBe('grant_type=refresh_token');
    expect(fake.seen.every((s) => /^codex-relay-\d$/.test(s.instance))).toBe(true);
  });

  it('keeps one ChatGPT account on one instance, and spreads accounts over the pool', async () => {
    const fake = fakeRelayNamespace();
    for (let i = 0; i < 3; i++) await upstreamFetch(fake.env, 'usage', { method: 'GET', headers: grant('acc_sticky') });
    expect(new Set(fake.seen.map((s) => s.instance)).size).toBe(1);

    const firstSlots = new Set(Array.from({ length: 60 }, (_, i) => containerSlots(`acc_${i}`, CONTAINER_POOL_SIZE)[0]));
    expect(firstSlots).toEqual(new Set(Array.from({ length: CONTAINER_POOL_SIZE }, (_, i) => i)));
  });

  it.each<RelayErrorCode>(['relay_unavailable', 'relay_shutting_down', 'relay_overloaded'])(
    'retries on the next instance once when the first answers %s',
    async (code) => {
      const first = containerInstanceName(containerSlots('acc_failover', CONTAINER_POOL_SIZE)[0]!);
      const fake = fakeRelayNamespace((instance) => (instance === first ? relayErrorAnswer(code) : relayAnswer('{"ok":true}')));
      const response = await upstreamFetch(fake.env, 'responses', { method: 'POST', headers: grant('acc_failover'), body: '{"input":"x"}' });
      expect(await response.json()).toEqual({ ok: true });
      expect(fake.seen.map((s) => s.instance)).toEqual([first, containerInstanceName(containerSlots('acc_failover', CONTAINER_POOL_SIZE)[1]!)]);
      expect(fake.seen[1]!.body).toBe('{"input":"x"}');
    },
  );

  it('reports the relay’s failure as a 502 with Retry-After when no instance can take the request', async () => {
    const fake = fakeRelayNamespace(() => relayErrorAnswer('relay_unavailable'));
    const failure = await upstreamFetch(fake.env, 'responses', { method: 'POST', headers: grant('acc_down'), body: '{}' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).status).toBe(502);
    expect(new Headers((failure as ApiError).headers).get('retry-after')).toBe('5');
    expect(fake.seen).toHaveLength(2);
  });

  it('does not retry errors that another instance would repeat (an upstream 429, a relay 401)', async () => {
    const fake = fakeRelayNamespace(() => relayAnswer('{"error":{"type":"usage_limit_reached"}}', { status: 429 }));
    expect((await upstreamFetch(fake.env, 'responses', { method: 'POST', headers: grant('acc_limited'), body: '{}' })).status).toBe(429);
    expect(fake.seen).toHaveLength(1);

    const refused = fakeRelayNamespace(() => relayErrorAnswer('invalid_relay_token'));
    await expect(upstreamFetch(refused.env, 'responses', { method: 'POST', headers: grant('acc_refused'), body: '{}' })).rejects.toBeInstanceOf(ApiError);
    expect(refused.seen).toHaveLength(1);
  });

  it('prefers an allowed external relay over the container', async () => {
    const fake = fakeRelayNamespace();
    await upstreamFetch({ ...fake.env, CODEX_RELAY_URL: env.FAKE_CODEX_URL }, 'usage', { method: 'GET', headers: grant('acc_ext') }).catch(() => {});
    expect(fake.seen).toEqual([]);
  });
});

describe('the relay container is started as the image expects', () => {
  afterEach(() => vi.restoreAllMocks());
  it('listens on 0.0.0.0 at the image port with the Worker’s token and upstream bases', () => {
    expect(relayContainerEnv({ UPSTREAM_RELAY_TOKEN: TOKEN })).toEqual({
      HOST: '0.0.0.0',
      PORT: String(RELAY_PORT),
      UPSTREAM_RELAY_TOKEN: TOKEN,
      CODEX_BACKEND_URL,
      OPENAI_AUTH_URL,
      RELAY_SHUTDOWN_GRACE_MS: expect.stringMatching(/^\d+$/),
    });
  });

  it('passes an empty token on when the secret is missing, so the relay refuses to start (fails closed)', () => {
    expect(relayContainerEnv({} as Pick<Env, 'UPSTREAM_RELAY_TOKEN'>).UPSTREAM_RELAY_TOKEN).toBe('');
  });

  it('passes the relay’s own answers through untouched, errors included', async () => {
    const answer = relayErrorAnswer('relay_overloaded');
    expect(await relayAnswerOrUnavailable(async () => answer)).toBe(answer);
  });

  it.each([
    ['an instance limit or start failure', () => new Response('There is no Container instance available at this time.', { status: 503 })],
    ['the runtime’s own rate limit', () => new Response('you are requesting too many containers per second', { status: 429 })],
    ['a crashed relay process', () => new Response('Container suddenly disconnected, try again', { status: 500 })],
  ])('turns %s into relay_unavailable (503, Retry-After), never a ChatGPT-looking answer, and logs why', async (_what, runtimeAnswer) => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const answer = runtimeAnswer();
    const response = await relayAnswerOrUnavailable(async () => answer);
    expect(response.status).toBe(503);
    expect(response.headers.get('x-relay-error')).toBe('relay_unavailable');
    expect(response.headers.get('retry-after')).toBeTruthy();
    expect(JSON.parse(String(logged.mock.calls[0]![0]))).toMatchObject({ event: 'relay_container_unavailable', status: answer.status });
  });

  it('turns a failure to reach the container at all into relay_unavailable', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const response = await relayAnswerOrUnavailable(async () => {
      throw new Error('Network connection lost.');
    });
    expect(response.headers.get('x-relay-error')).toBe('relay_unavailable');
  });
});

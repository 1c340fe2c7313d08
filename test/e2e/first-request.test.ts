/**
 * A new user's first request, end to end: provision from an auth.json with the real script,
 * then the official openai SDK talks to wrangler dev → relay → fake Codex backend.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedFamily } from '../support/fake-codex/index.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

let stack: LocalStack;
let family: CreatedFamily;
let proxyKey: string;
let client: OpenAI;

beforeAll(async () => {
  stack = await startLocalStack();
  // Expiring within the refresh margin, so the first request also exercises a refresh through the relay.
  family = stack.fake.state.createFamily({ accessTokenTtlSeconds: 60 });
  stack.fake.state.setFamily(family.family, { accessTokenTtlSeconds: 3600 });
  const authFile = join(stack.persistTo, '..', 'auth.json');
  writeFileSync(authFile, JSON.stringify(family.authJson));
  const output = await stack.provision(['--email', 'New.User@Example.com', '--auth-file', authFile]);
  proxyKey = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
  client = new OpenAI({ apiKey: proxyKey, baseURL: `${stack.workerUrl}/v1`, maxRetries: 0 });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

describe('a provisioned user with the official openai SDK', () => {
  it('receives a proxy key once from provision', () => {
    expect(proxyKey).toMatch(/^cpk_[A-Za-z0-9]{40,}$/);
  });

  it('lists the Codex models, effort aliases included', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-5.5');
    expect(ids).toContain('gpt-5.5-high');
  });

  it('gets a non-streamed answer from the backend through Worker and relay', async () => {
    const response = await client.responses.create({ model: 'gpt-5.5', input: 'ping one' });
    expect(response.output_text).toBe('Hello from fake Codex: ping one');
    expect(response.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('gets a streamed answer event by event', async () => {
    const stream = await client.responses.create({ model: 'gpt-5.5', input: 'ping two', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(text).toBe('Hello from fake Codex: ping two');
    expect(types.filter((type) => type === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(types.at(-1)).toBe('response.completed');
  });

  it('refreshed the near-expiry token once, through the relay, and used the new one', () => {
    expect(stack.fake.state.family(family.family).refreshCalls).toBe(1);
    const bearers = stack.fake.state.requests(family.accountId).map((request) => request.headers.authorization);
    expect(bearers.length).toBeGreaterThanOrEqual(2);
    expect(bearers).not.toContain(`Bearer ${family.tokens.access_token}`);
  });

  it('rejects a wrong key with a 401 the SDK reports as an authentication error', async () => {
    const wrong = new OpenAI({ apiKey: `${proxyKey.slice(0, -1)}x`, baseURL: `${stack.workerUrl}/v1`, maxRetries: 0 });
    const error = await wrong.models.list().then(() => null, (err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
  });
});

describe('provisioning the same person again', () => {
  it('updates the user instead of duplicating it, and both keys work', async () => {
    const authFile = join(stack.persistTo, '..', 'auth-again.json');
    writeFileSync(authFile, JSON.stringify(stack.fake.state.createFamily({ accountId: family.accountId }).authJson));
    const output = await stack.provision(['--email', ' new.user@EXAMPLE.com ', '--auth-file', authFile, '--key-name', 'second']);
    expect(output).toMatch(/^Updated new\.user@example\.com/);
    const secondKey = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
    expect(secondKey).not.toBe(proxyKey);

    const rows = JSON.parse(await stack.dumpDatabase()) as { results: { tbl: string }[] }[];
    const count = (table: string) => rows.flatMap((r) => r.results).filter((row) => row.tbl === table).length;
    expect(count('users')).toBe(1);
    expect(count('api_keys')).toBe(2);
    for (const apiKey of [proxyKey, secondKey]) {
      const response = await new OpenAI({ apiKey, baseURL: `${stack.workerUrl}/v1`, maxRetries: 0 })
        .responses.create({ model: 'gpt-5.5', input: 'again' });
      expect(response.output_text).toBe('Hello from fake Codex: again');
    }
  }, 60_000);
});

describe('after a full run, nothing secret is stored or logged in clear', () => {
  function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
  }

  it('finds no proxy key, access token or refresh token in D1 rows, storage files or logs', async () => {
    const info = stack.fake.state.family(family.family);
    const accessTokens = stack.fake.state.requests(family.accountId)
      .map((request) => request.headers.authorization?.replace(/^Bearer /, ''))
      .filter((token): token is string => Boolean(token));
    const secrets = [proxyKey, family.tokens.access_token, family.tokens.refresh_token, info.currentRefreshToken, ...accessTokens];
    expect(new Set(secrets).size).toBeGreaterThanOrEqual(5);

    const haystacks = {
      'D1 rows': await stack.dumpDatabase(),
      logs: stack.logs(),
      'storage files': filesUnder(stack.persistTo).map((file) => readFileSync(file).toString('latin1')).join('\n'),
    };
    expect(haystacks['D1 rows']).toContain('new.user@example.com');
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of secrets) {
        expect(text.includes(secret), `a secret appears in ${where}`).toBe(false);
      }
    }
  }, 30_000);
});

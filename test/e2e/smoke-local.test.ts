/**
 * The real-deployment smoke suite (test/support/smoke/checks.ts), run in CI against the local
 * stack with the fake backend, so a check that no longer fits the proxy fails here first. The
 * fake cannot choose to call a tool or read an image, so each check scripts the answer a real
 * model gives; everything between client and backend is the real Worker and relay.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedFamily, ResponseStep } from '../support/fake-codex/index.ts';
import { defineSmokeSuite, type SmokeCheck } from '../support/smoke/checks.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

let stack: LocalStack;
let family: CreatedFamily;
let proxyKey: string;

beforeAll(async () => {
  stack = await startLocalStack();
  family = stack.fake.state.createFamily();
  const authFile = join(stack.persistTo, '..', 'auth.json');
  writeFileSync(authFile, JSON.stringify(family.authJson));
  const output = await stack.provision(['--email', 'smoke@example.com', '--auth-file', authFile]);
  proxyKey = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

const weatherCall = { name: 'get_weather', arguments: '{"city":"Oslo"}' };

/** What a real model answers each check with; checks left out get the fake's default text. */
const answers: Partial<Record<SmokeCheck, ResponseStep[]>> = {
  'tool-round-trip': [{ kind: 'ok', toolCalls: [weatherCall] }, { kind: 'ok', text: 'It is 3°C and clear in Oslo.' }],
  'ai-sdk-tool-loop': [
    { kind: 'ok', reasoningSummary: 'I should call the tool.', toolCalls: [weatherCall] },
    { kind: 'ok', reasoningSummary: 'I have the weather.', text: 'It is 3°C in Oslo.' },
  ],
  'previous-response-id': [{ kind: 'ok', text: 'ok' }, { kind: 'ok', text: 'kiwi' }],
  'structured-output': [{ kind: 'ok', text: '{"answer":4}' }],
  image: [{ kind: 'ok', text: 'Red.' }],
};

defineSmokeSuite(() => ({
  baseUrl: stack.workerUrl,
  apiKey: proxyKey,
  before: (check) => {
    stack.fake.state.scriptResponses(family.accountId, answers[check] ?? []);
  },
}));

afterEach(() => {
  // A check that made fewer model calls than a real conversation needs would leave answers queued.
  expect(stack.fake.state.nextResponseStep(family.accountId)).toBeUndefined();
});

describe('what reached the backend', () => {
  it('had the AI SDK loop\'s item_reference expanded into the stored reasoning', () => {
    type Item = { type?: string; encrypted_content?: unknown };
    const inputs = stack.fake.state.requests(family.accountId).map((r) => ((r.body as { input?: Item[] }).input ?? []));
    expect(inputs.flat().filter((i) => i.type === 'item_reference')).toEqual([]);
    const resent = inputs.filter((input) => input.some((i) => i.type === 'reasoning') && input.some((i) => i.type === 'function_call_output'));
    expect(resent.length).toBeGreaterThan(0);
    expect(resent.flat().filter((i) => i.type === 'reasoning').every((i) => typeof i.encrypted_content === 'string')).toBe(true);
  });
});

describe('the smoke suite spends little quota', () => {
  it('used one small model, at low effort wherever it set the effort', () => {
    const bodies = stack.fake.state.requests(family.accountId).map((r) => r.body as { model: string; reasoning?: { effort?: string } });
    expect(bodies.length).toBeGreaterThanOrEqual(12);
    expect(new Set(bodies.map((b) => b.model))).toEqual(new Set(['gpt-5.4-mini']));
    const efforts = bodies.map((b) => b.reasoning?.effort);
    // Only the AI SDK loop runs with the client's defaults (its two requests carry no effort).
    expect(efforts.filter((e) => e === 'low').length).toBe(bodies.length - 2);
  });
});

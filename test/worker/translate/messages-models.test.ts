import { describe, expect, it } from 'vitest';
import {
  anthropicModelList, claudeFamily, effortForBudget, mapClaudeModel, mergedClaudeModelMap, serverClaudeModelMap,
} from '../../../worker/translate/messages-models.ts';
import { parseClaudeModelMap } from '../../../worker/shared/claude-models.ts';
import { anthropicErrorBody, anthropicErrorType, apiErrorOf } from '../../../worker/translate/messages-errors.ts';
import { ApiError } from '../../../worker/shared/errors.ts';
import { MODELS } from '../helpers/models.ts';

describe('the Claude model map', () => {
  it('parses name=model pairs and refuses anything else', () => {
    expect([...parseClaudeModelMap('Opus=gpt-5.5-high,\n sonnet = gpt-5.5 ,')]).toEqual([['opus', 'gpt-5.5-high'], ['sonnet', 'gpt-5.5']]);
    expect(() => parseClaudeModelMap('opus')).toThrow(/"opus"/);
    expect(() => serverClaudeModelMap({ CLAUDE_MODEL_MAP: 'opus=' })).toThrow(ApiError);
  });

  it('finds a Claude id’s family in every naming Claude has used', () => {
    expect(claudeFamily('claude-sonnet-4-5-20250929')).toBe('sonnet');
    expect(claudeFamily('claude-3-5-haiku-latest')).toBe('haiku');
    expect(claudeFamily('claude-opus-4-1')).toBe('opus');
    expect(claudeFamily('gpt-5.5')).toBeNull();
  });

  it('prefers an exact entry, then the family, and lets a user’s entries win over the server’s', () => {
    const map = mergedClaudeModelMap(serverClaudeModelMap({}), new Map([['claude-sonnet-4-5', 'gpt-5.4'], ['haiku', 'gpt-5.5-low']]));
    expect(mapClaudeModel(map, 'claude-sonnet-4-5', MODELS)).toBe('gpt-5.4');
    expect(mapClaudeModel(map, 'claude-sonnet-4-0', MODELS)).toBe('gpt-5.5');
    expect(mapClaudeModel(map, 'claude-haiku-4-5', MODELS)).toBe('gpt-5.5-low');
    expect(mapClaudeModel(map, 'GPT-5.4-mini', MODELS)).toBe('gpt-5.4-mini');
    expect(() => mapClaudeModel(map, 'claude-instant-1', MODELS)).toThrow(/not mapped/);
  });

  it('turns a thinking budget into the nearest effort the model has', () => {
    expect(effortForBudget(2_000, ['low', 'medium', 'high'])).toBe('low');
    expect(effortForBudget(50_000, ['low', 'medium', 'high'])).toBe('high');
    expect(effortForBudget(1_000, ['medium', 'high'])).toBe('medium');
    expect(effortForBudget(1_000, [])).toBeNull();
  });

  it('lists the mapped Claude names first, then the account’s models, in Anthropic’s shape', () => {
    const list = anthropicModelList(serverClaudeModelMap({}), MODELS);
    expect(list.data.slice(0, 3).map((m) => m.id)).toEqual(['claude-opus', 'claude-sonnet', 'claude-haiku']);
    expect(list.data.map((m) => m.id)).toContain('gpt-5.5');
    expect(list).toMatchObject({ has_more: false, first_id: 'claude-opus', last_id: list.data.at(-1)!.id });
  });
});

describe('Anthropic-shaped errors', () => {
  it('maps each of our errors by status, and the transient 5xx to overloaded_error', () => {
    const cases: [ApiError, string][] = [
      [new ApiError('invalid_request', 'x'), 'invalid_request_error'],
      [new ApiError('invalid_api_key', 'x'), 'authentication_error'],
      [new ApiError('model_not_found', 'x'), 'not_found_error'],
      [new ApiError('request_too_large', 'x'), 'request_too_large'],
      [new ApiError('usage_limit_reached', 'x'), 'rate_limit_error'],
      [new ApiError('rate_limit_exceeded', 'x'), 'rate_limit_error'],
      [new ApiError('upstream_error', 'x'), 'api_error'],
      [new ApiError('upstream_timeout', 'x'), 'overloaded_error'],
      [new ApiError('token_refresh_unavailable', 'x'), 'overloaded_error'],
    ];
    for (const [err, type] of cases) expect(anthropicErrorType(err), err.code).toBe(type);
    expect(anthropicErrorBody(new ApiError('invalid_json', 'Bad JSON.'))).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'Bad JSON.' } });
  });

  it('reads an OpenAI-shaped error answer back into its ApiError, headers included', () => {
    const original = new ApiError('usage_limit_reached', 'Limit.', { headers: { 'Retry-After': '60' } });
    const res = original.toResponse();
    const back = apiErrorOf(res.status, res.headers, original.toBody());
    expect(back).toMatchObject({ code: 'usage_limit_reached', message: 'Limit.', headers: { 'retry-after': '60', 'x-should-retry': 'false' } });
    expect(apiErrorOf(400, new Headers(), { error: { code: 'nonsense', message: 'x' } })).toBeNull();
    expect(apiErrorOf(500, new Headers(), { error: { code: 'invalid_request', message: 'x' } })).toBeNull();
  });
});

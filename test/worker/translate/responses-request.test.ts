import { MODELS } from '../helpers/models.ts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUCTIONS } from '../../../worker/translate/backend-rules.ts';
import { ApiError } from '../../../worker/shared/errors.ts';
import { normalizeResponsesRequest, REJECTED_PARAMETERS } from '../../../worker/translate/responses-request.ts';

function rejects(body: unknown): ApiError {
  try {
    normalizeResponsesRequest(body, { models: MODELS });
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the request to be rejected');
}

const minimal = { model: 'gpt-5.5', input: 'hi' };

describe('what the backend always gets', () => {
  it('turns a string input into one user message and applies the backend rules', () => {
    const { body, stream, promptCacheKey } = normalizeResponsesRequest(minimal, { models: MODELS });
    expect(body).toEqual({
      model: 'gpt-5.5',
      instructions: DEFAULT_INSTRUCTIONS,
      input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
      reasoning: { effort: 'medium' },
      include: ['reasoning.encrypted_content'],
      store: false,
      stream: true,
    });
    expect(stream).toBe(false);
    expect(promptCacheKey).toBeNull();
  });

  it('remembers that the client asked for a stream', () => {
    expect(normalizeResponsesRequest({ ...minimal, stream: true }, { models: MODELS }).stream).toBe(true);
  });

  it('keeps the client instructions and uses the default only for missing or blank ones', () => {
    expect(normalizeResponsesRequest({ ...minimal, instructions: 'Be terse.' }, { models: MODELS }).body.instructions).toBe('Be terse.');
    expect(normalizeResponsesRequest({ ...minimal, instructions: '  ' }, { models: MODELS }).body.instructions).toBe(DEFAULT_INSTRUCTIONS);
    expect(normalizeResponsesRequest({ ...minimal, instructions: null }, { models: MODELS }).body.instructions).toBe(DEFAULT_INSTRUCTIONS);
  });

  it('sends store:false upstream whatever the client asks, and keeps its wish for our own store', () => {
    const result = normalizeResponsesRequest({ ...minimal, store: true }, { models: MODELS });
    expect(result.body.store).toBe(false);
    expect(result.store).toBe(true);
    expect(normalizeResponsesRequest(minimal, { models: MODELS }).store).toBe(true);
    expect(normalizeResponsesRequest({ ...minimal, store: false }, { models: MODELS }).store).toBe(false);
  });

  it('adds encrypted reasoning to the include list without losing the client entries', () => {
    const { body } = normalizeResponsesRequest({ ...minimal, include: ['message.output_text.logprobs'] }, { models: MODELS });
    expect(body.include).toEqual(['message.output_text.logprobs', 'reasoning.encrypted_content']);
    const again = normalizeResponsesRequest({ ...minimal, include: ['reasoning.encrypted_content'] }, { models: MODELS });
    expect(again.body.include).toEqual(['reasoning.encrypted_content']);
  });

  it('drops every parameter the backend refuses and says which', () => {
    const extras = Object.fromEntries(REJECTED_PARAMETERS.map((name) => [name, name === 'user' ? 'u1' : 1]));
    const result = normalizeResponsesRequest({ ...minimal, ...extras, metadata: { a: 'b' } }, { models: MODELS });
    for (const name of REJECTED_PARAMETERS) expect(result.body).not.toHaveProperty(name);
    expect(result.ignored).toEqual(expect.arrayContaining(['temperature', 'max_output_tokens', 'metadata', 'user']));
  });

  it('passes tools, tool_choice, text and item inputs through untouched', () => {
    const tools = [{ type: 'function', name: 'f', parameters: { type: 'object' }, strict: false }];
    const input = [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'ok' },
    ];
    const text = { verbosity: 'low', format: { type: 'json_schema', name: 'x', schema: {}, strict: true } };
    const { body } = normalizeResponsesRequest({ ...minimal, input, tools, tool_choice: 'auto', text, parallel_tool_calls: true }, { models: MODELS });
    expect(body).toMatchObject({ input, tools, tool_choice: 'auto', text, parallel_tool_calls: true });
  });

  it('sends system-role input items as developer messages, which the backend accepts', () => {
    const input = [{ type: 'message', role: 'system', content: 'Be terse.' }, { role: 'user', content: 'hi' }];
    const { body } = normalizeResponsesRequest({ ...minimal, input }, { models: MODELS });
    expect(body.input).toEqual([{ type: 'message', role: 'developer', content: 'Be terse.' }, { role: 'user', content: 'hi' }]);
  });

  it('keeps a stable prompt_cache_key and reports it', () => {
    const result = normalizeResponsesRequest({ ...minimal, prompt_cache_key: 'conv-42' }, { models: MODELS });
    expect(result.body.prompt_cache_key).toBe('conv-42');
    expect(result.promptCacheKey).toBe('conv-42');
  });

  it('does not forward explicit nulls', () => {
    const { body } = normalizeResponsesRequest({ ...minimal, tools: null, tool_choice: null, text: null }, { models: MODELS });
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('tool_choice');
    expect(body).not.toHaveProperty('text');
  });
});

describe('models and reasoning effort', () => {
  it('resolves an effort alias to the model and its effort', () => {
    const { body } = normalizeResponsesRequest({ ...minimal, model: 'gpt-5.5-high' }, { models: MODELS });
    expect(body.model).toBe('gpt-5.5');
    expect(body.reasoning).toEqual({ effort: 'high' });
  });

  it('lets the alias win over a reasoning.effort in the body, keeping the summary setting', () => {
    const { body } = normalizeResponsesRequest({ ...minimal, model: 'gpt-5.5-low', reasoning: { effort: 'high', summary: 'auto' } }, { models: MODELS });
    expect(body.reasoning).toEqual({ effort: 'low', summary: 'auto' });
  });

  it('uses the requested effort when the model supports it', () => {
    const { body } = normalizeResponsesRequest({ ...minimal, reasoning: { effort: 'xhigh' } }, { models: MODELS });
    expect(body.reasoning).toEqual({ effort: 'xhigh' });
  });

  it('accepts the max and ultra efforts on the models whose supported levels include them', () => {
    expect(normalizeResponsesRequest({ ...minimal, model: 'gpt-5.6-sol', reasoning: { effort: 'ultra' } }, { models: MODELS }).body.reasoning).toEqual({ effort: 'ultra' });
    expect(normalizeResponsesRequest({ ...minimal, model: 'gpt-5.6-luna-max' }, { models: MODELS }).body).toMatchObject({ model: 'gpt-5.6-luna', reasoning: { effort: 'max' } });
  });

  it('refuses an effort the model does not support, naming reasoning.effort', () => {
    const err = rejects({ ...minimal, model: 'gpt-5.6-luna', reasoning: { effort: 'ultra' } });
    expect(err).toMatchObject({ status: 400, param: 'reasoning.effort' });
    expect(err.message).toMatch(/low, medium, high, xhigh, max\./);
    expect(rejects({ ...minimal, reasoning: { effort: 'ultra' } }).param).toBe('reasoning.effort');
  });

  it('answers 404 model_not_found for a model it does not serve', () => {
    expect(rejects({ ...minimal, model: 'gpt-4o' })).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });
});

describe('bad requests get a 400 naming the param', () => {
  const cases: Array<[string, unknown, string | null]> = [
    ['a JSON array body', [minimal], null],
    ['a string body', 'hi', null],
    ['a missing model', { input: 'hi' }, 'model'],
    ['a numeric model', { model: 5, input: 'hi' }, 'model'],
    ['a missing input', { model: 'gpt-5.5' }, 'input'],
    ['a numeric input', { model: 'gpt-5.5', input: 3 }, 'input'],
    ['an empty input list', { model: 'gpt-5.5', input: [] }, 'input'],
    ['an empty input string', { model: 'gpt-5.5', input: '' }, 'input'],
    ['a non-object input item', { model: 'gpt-5.5', input: [{ role: 'user', content: 'x' }, 'oops'] }, 'input[1]'],
    ['a string stream flag', { ...minimal, stream: 'yes' }, 'stream'],
    ['numeric instructions', { ...minimal, instructions: 7 }, 'instructions'],
    ['an include that is not a list', { ...minimal, include: 'x' }, 'include'],
    ['a tools entry without a type', { ...minimal, tools: [{ name: 'f' }] }, 'tools[0].type'],
    ['a reasoning that is not an object', { ...minimal, reasoning: 'high' }, 'reasoning'],
    ['a numeric prompt_cache_key', { ...minimal, prompt_cache_key: 1 }, 'prompt_cache_key'],
  ];
  for (const [name, body, param] of cases) {
    it(`rejects ${name}`, () => {
      const err = rejects(body);
      expect(err.status).toBe(400);
      expect(err.param).toBe(param);
    });
  }

  it('says a required param is missing in OpenAI words', () => {
    expect(rejects({ input: 'hi' }).message).toBe("Missing required parameter: 'model'.");
  });

  it('takes previous_response_id for the store and never sends it upstream', () => {
    const result = normalizeResponsesRequest({ ...minimal, previous_response_id: 'resp_1' }, { models: MODELS });
    expect(result.storeQuery).toEqual({ previousResponseId: 'resp_1', itemIds: [], callIds: [] });
    expect(result.body).not.toHaveProperty('previous_response_id');
    expect(result.ignored).not.toContain('previous_response_id');
    expect(normalizeResponsesRequest({ ...minimal, previous_response_id: null }, { models: MODELS }).storeQuery.previousResponseId).toBeNull();
    expect(rejects({ ...minimal, previous_response_id: 7 }).param).toBe('previous_response_id');
  });

  it('still refuses conversation, which needs state we do not keep', () => {
    expect(rejects({ ...minimal, conversation: 'conv_1' })).toMatchObject({ status: 400, param: 'conversation' });
  });

  it('refuses background mode but accepts background:false', () => {
    expect(rejects({ ...minimal, background: true })).toMatchObject({ status: 400, param: 'background' });
    expect(normalizeResponsesRequest({ ...minimal, background: false }, { models: MODELS }).body).not.toHaveProperty('background');
  });
});

describe('hosted web search', () => {
  it('names every OpenAI web-search tool type as the backend does, keeping its options, and leaves other tools alone', () => {
    const fn = { type: 'function', name: 'f', parameters: {} };
    const { body } = normalizeResponsesRequest({
      ...minimal,
      tools: [{ type: 'web_search_preview_2025_03_11', search_context_size: 'low' }, fn],
      tool_choice: { type: 'web_search_preview' },
    }, { models: MODELS });
    expect(body.tools).toEqual([{ type: 'web_search', search_context_size: 'low' }, fn]);
    expect(body.tool_choice).toEqual({ type: 'web_search' });
    expect(normalizeResponsesRequest({ ...minimal, tools: [fn], tool_choice: 'auto' }, { models: MODELS }).body.tool_choice).toBe('auto');
  });
});

import { MODELS } from '../helpers/models.ts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUCTIONS } from '../../../worker/translate/backend-rules.ts';
import { DROPPED_CHAT_PARAMETERS, normalizeChatRequest, reasoningDisplaySetting } from '../../../worker/translate/chat-request.ts';
import { ApiError } from '../../../worker/shared/errors.ts';

function rejects(body: unknown): ApiError {
  try {
    normalizeChatRequest(body, { models: MODELS });
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the request to be rejected');
}

const user = (content: unknown) => ({ role: 'user', content });
const minimal = { model: 'gpt-5.5', messages: [user('hi')] };
const inputText = (text: string) => ({ type: 'input_text', text });
const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('what the backend always gets', () => {
  it('turns a plain chat into a Responses body that follows the backend rules', () => {
    const result = normalizeChatRequest(minimal, { models: MODELS });
    expect(result.body).toEqual({
      model: 'gpt-5.5',
      instructions: DEFAULT_INSTRUCTIONS,
      input: [{ type: 'message', role: 'user', content: [inputText('hi')] }],
      reasoning: { effort: 'medium', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      store: false,
      stream: true,
    });
    expect(result).toMatchObject({ model: 'gpt-5.5', stream: false, includeUsage: false, stop: [], legacyFunctions: false, promptCacheKey: null });
  });

  it('makes leading system and developer messages the instructions, and keeps later ones in place', () => {
    const { body } = normalizeChatRequest({
      model: 'gpt-5.5',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use metric units.' }] },
        user('hi'),
        { role: 'system', content: 'Now answer in French.' },
      ],
    }, { models: MODELS });
    expect(body.instructions).toBe('Be terse.\n\nUse metric units.');
    expect(body.input).toEqual([
      { type: 'message', role: 'user', content: [inputText('hi')] },
      { type: 'message', role: 'developer', content: [inputText('Now answer in French.')] },
    ]);
  });

  it('keeps a conversation of system messages only as developer input, with the default instructions', () => {
    const { body } = normalizeChatRequest({ model: 'gpt-5.5', messages: [{ role: 'system', content: 'Say hi.' }] }, { models: MODELS });
    expect(body.instructions).toBe(DEFAULT_INSTRUCTIONS);
    expect(body.input).toEqual([{ type: 'message', role: 'developer', content: [inputText('Say hi.')] }]);
  });

  it('turns text and image parts into input_text and input_image, http and data URLs alike', () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const { body } = normalizeChatRequest({
      model: 'gpt-5.5',
      messages: [user([
        { type: 'text', text: 'What is in these?' },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'low' } },
        { type: 'image_url', image_url: { url: png } },
        { type: 'image_url', image_url: png },
      ])],
    }, { models: MODELS });
    expect(body.input[0]).toEqual({
      type: 'message',
      role: 'user',
      content: [
        inputText('What is in these?'),
        { type: 'input_image', image_url: 'https://example.com/cat.jpg', detail: 'low' },
        { type: 'input_image', image_url: png, detail: 'auto' },
        { type: 'input_image', image_url: png, detail: 'auto' },
      ],
    });
  });

  it('sends inline files as input_file', () => {
    const { body } = normalizeChatRequest({
      model: 'gpt-5.5',
      messages: [user([{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }])],
    }, { models: MODELS });
    expect(body.input[0]).toMatchObject({ content: [{ type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' }] });
  });

  it('turns a tool round trip into function_call and function_call_output items', () => {
    const { body } = normalizeChatRequest({
      model: 'gpt-5.5',
      tools: [weatherTool],
      messages: [
        user('Weather in Paris and Rome?'),
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: { city: 'Rome' } } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '21' }, { type: 'text', text: 'C' }] },
        { role: 'assistant', content: [], tool_calls: [] },
        { role: 'assistant', content: 'Paris 18C, Rome 21C.' },
        user('Thanks'),
      ],
    }, { models: MODELS });
    expect(body.input).toEqual([
      { type: 'message', role: 'user', content: [inputText('Weather in Paris and Rome?')] },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '18C' },
      { type: 'function_call_output', call_id: 'call_2', output: '21C' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Paris 18C, Rome 21C.' }] },
      { type: 'message', role: 'user', content: [inputText('Thanks')] },
    ]);
  });

  it('keeps an assistant refusal in the history', () => {
    const { body } = normalizeChatRequest({ model: 'gpt-5.5', messages: [user('x'), { role: 'assistant', content: null, refusal: 'I cannot help.' }, user('ok')] }, { models: MODELS });
    expect(body.input[1]).toEqual({ type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help.' }] });
  });

  it('translates function tools, non-strict unless asked, and every tool_choice form', () => {
    const tools = [weatherTool, { type: 'function', function: { name: 'now', strict: true } }];
    const base = { ...minimal, tools, parallel_tool_calls: false };
    const { body } = normalizeChatRequest({ ...base, tool_choice: 'required' }, { models: MODELS });
    expect(body.tools).toEqual([
      { type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.function.parameters, strict: false },
      { type: 'function', name: 'now', parameters: { type: 'object', properties: {} }, strict: true },
    ]);
    expect(body).toMatchObject({ tool_choice: 'required', parallel_tool_calls: false });
    expect(normalizeChatRequest({ ...base, tool_choice: { type: 'function', function: { name: 'now' } } }, { models: MODELS }).body.tool_choice).toEqual({
      type: 'function',
      name: 'now',
    });
    const allowed = { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'now' } }] } };
    expect(normalizeChatRequest({ ...base, tool_choice: allowed }, { models: MODELS }).body.tool_choice).toEqual({
      type: 'allowed_tools',
      mode: 'auto',
      tools: [{ type: 'function', name: 'now' }],
    });
  });

  it('ignores tool_choice and parallel_tool_calls when there are no tools', () => {
    const result = normalizeChatRequest({ ...minimal, tools: [], tool_choice: 'auto', parallel_tool_calls: true }, { models: MODELS });
    expect(result.body).not.toHaveProperty('tools');
    expect(result.body).not.toHaveProperty('tool_choice');
    expect(result.ignored).toEqual(expect.arrayContaining(['tool_choice', 'parallel_tool_calls']));
  });

  it('maps the deprecated functions API, one call per turn', () => {
    const result = normalizeChatRequest({
      model: 'gpt-5.5',
      functions: [{ name: 'get_weather', parameters: { type: 'object' } }],
      function_call: { name: 'get_weather' },
      messages: [
        user('Paris?'),
        { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { role: 'function', name: 'get_weather', content: '18C' },
      ],
    }, { models: MODELS });
    expect(result.legacyFunctions).toBe(true);
    expect(result.body).toMatchObject({
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
    });
    expect(result.body.input.slice(1)).toEqual([
      { type: 'function_call', call_id: 'call_legacy_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_legacy_1', output: '18C' },
    ]);
  });

  it('maps response_format to text.format, next to verbosity', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
    const jsonSchema = { type: 'json_schema', json_schema: { name: 'weather', schema, strict: true } };
    expect(normalizeChatRequest({ ...minimal, response_format: jsonSchema, verbosity: 'low' }, { models: MODELS }).body.text).toEqual({
      format: { type: 'json_schema', name: 'weather', schema, strict: true },
      verbosity: 'low',
    });
    expect(normalizeChatRequest({ ...minimal, response_format: { type: 'json_object' } }, { models: MODELS }).body.text).toEqual({ format: { type: 'json_object' } });
    expect(normalizeChatRequest({ ...minimal, response_format: { type: 'text' } }, { models: MODELS }).body).not.toHaveProperty('text');
    expect(normalizeChatRequest({ ...minimal, response_format: { type: 'json_schema', json_schema: { schema } } }, { models: MODELS }).body.text).toEqual({
      format: { type: 'json_schema', name: 'response', schema },
    });
  });

  it('drops the parameters the backend refuses, and unknown ones, and says which', () => {
    const values: Record<string, unknown> = {
      max_tokens: 5, max_completion_tokens: 5, temperature: 0, top_p: 1, frequency_penalty: 0, presence_penalty: 0, seed: 7,
      user: 'u', safety_identifier: 's', metadata: { a: 'b' }, store: true, service_tier: 'auto',
      prediction: { type: 'content', content: 'x' }, prompt_cache_retention: '24h',
    };
    expect(Object.keys(values).sort()).toEqual([...DROPPED_CHAT_PARAMETERS].sort());
    const result = normalizeChatRequest({ ...minimal, ...values, logprobs: false, n: 1, top_k: 40 }, { models: MODELS });
    for (const name of DROPPED_CHAT_PARAMETERS.filter((n) => n !== 'store')) expect(result.body).not.toHaveProperty(name);
    expect(result.body).not.toHaveProperty('top_k');
    expect(result.body.store).toBe(false);
    expect(result.ignored.sort()).toEqual([...DROPPED_CHAT_PARAMETERS, 'top_k'].sort());
  });

  it('reads stream, include_usage, stop and prompt_cache_key', () => {
    const result = normalizeChatRequest({ ...minimal, stream: true, stream_options: { include_usage: true }, stop: ['\n\n', ''], prompt_cache_key: 'conv-9' }, { models: MODELS });
    expect(result).toMatchObject({ stream: true, includeUsage: true, stop: ['\n\n'], promptCacheKey: 'conv-9' });
    expect(result.body.prompt_cache_key).toBe('conv-9');
    expect(normalizeChatRequest({ ...minimal, stop: 'END' }, { models: MODELS }).stop).toEqual(['END']);
    expect(normalizeChatRequest({ ...minimal, stream_options: { include_usage: true } }, { models: MODELS }).includeUsage).toBe(false);
  });
});

describe('reasoning', () => {
  it('takes the effort from reasoning_effort, or from an effort alias, which wins', () => {
    expect(normalizeChatRequest({ ...minimal, reasoning_effort: 'high' }, { models: MODELS }).body.reasoning).toMatchObject({ effort: 'high' });
    const alias = normalizeChatRequest({ ...minimal, model: 'gpt-5.5-low', reasoning_effort: 'high' }, { models: MODELS });
    expect(alias.body).toMatchObject({ model: 'gpt-5.5', reasoning: { effort: 'low' } });
    expect(alias.model).toBe('gpt-5.5-low');
  });

  it('refuses an effort the model lacks, naming the param', () => {
    const err = rejects({ ...minimal, model: 'gpt-5.6-luna', reasoning_effort: 'ultra' });
    expect(err).toMatchObject({ status: 400, param: 'reasoning_effort' });
    expect(err.message).toMatch(/Supported values: low, medium, high, xhigh, max\./);
    expect(rejects({ ...minimal, reasoning: { effort: 'extreme' } }).param).toBe('reasoning.effort');
  });

  it('explains an effort alias the model does not have', () => {
    const err = rejects({ ...minimal, model: 'gpt-5.6-luna-ultra' });
    expect(err).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    expect(err.message).toMatch(/gpt-5\.6-luna supports the efforts low, medium, high, xhigh, max\./);
  });

  it('shows reasoning by default, and asks for no summary when it is hidden', () => {
    expect(normalizeChatRequest(minimal, { models: MODELS }).reasoningDisplay).toBe('reasoning_content');
    const hidden = normalizeChatRequest({ ...minimal, include_reasoning: false }, { models: MODELS });
    expect(hidden.reasoningDisplay).toBe('hidden');
    expect(hidden.body.reasoning).toEqual({ effort: 'medium' });
    expect(normalizeChatRequest({ ...minimal, reasoning: { exclude: true } }, { models: MODELS }).reasoningDisplay).toBe('hidden');
    expect(normalizeChatRequest({ ...minimal, reasoning: { summary: 'detailed' } }, { models: MODELS }).body.reasoning).toEqual({ effort: 'medium', summary: 'detailed' });
  });

  it('follows the server setting unless the request says otherwise', () => {
    expect(normalizeChatRequest(minimal, { models: MODELS, reasoningDisplay: 'hidden' }).reasoningDisplay).toBe('hidden');
    expect(normalizeChatRequest({ ...minimal, include_reasoning: true }, { models: MODELS, reasoningDisplay: 'hidden' }).reasoningDisplay).toBe('reasoning_content');
    expect(normalizeChatRequest(minimal, { models: MODELS, reasoningDisplay: 'think_tags' }).reasoningDisplay).toBe('think_tags');
    expect(reasoningDisplaySetting({ CHAT_REASONING_DISPLAY: ' Think_Tags ' })).toBe('think_tags');
    expect(reasoningDisplaySetting({ CHAT_REASONING_DISPLAY: 'bogus' })).toBe('reasoning_content');
    expect(reasoningDisplaySetting({})).toBe('reasoning_content');
  });
});

describe('requests that cannot be served get a 400 naming the param', () => {
  const png = { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } };
  const cases: Array<[string, unknown, string | null, string?]> = [
    ['a JSON array body', [minimal], null],
    ['a missing model', { messages: [user('hi')] }, 'model'],
    ['missing messages', { model: 'gpt-5.5' }, 'messages'],
    ['empty messages', { model: 'gpt-5.5', messages: [] }, 'messages'],
    ['messages that are not a list', { model: 'gpt-5.5', messages: 'hi' }, 'messages'],
    ['an unknown role', { model: 'gpt-5.5', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    ['a message without a role', { model: 'gpt-5.5', messages: [user('x'), { content: 'y' }] }, 'messages[1].role'],
    ['a user message without content', { model: 'gpt-5.5', messages: [{ role: 'user' }] }, 'messages[0].content'],
    ['an audio part', { model: 'gpt-5.5', messages: [user([{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }])] }, 'messages[0].content[0].type', 'unsupported_parameter'],
    ['an unknown part type', { model: 'gpt-5.5', messages: [user([{ type: 'video' }])] }, 'messages[0].content[0].type'],
    ['an image URL that is neither http nor data', { model: 'gpt-5.5', messages: [user([{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }])] }, 'messages[0].content[0].image_url.url'],
    ['a bad image detail', { model: 'gpt-5.5', messages: [user([{ ...png, image_url: { ...png.image_url, detail: 'max' } }])] }, 'messages[0].content[0].image_url.detail'],
    ['an uploaded file id', { model: 'gpt-5.5', messages: [user([{ type: 'file', file: { file_id: 'file-1' } }])] }, 'messages[0].content[0].file', 'unsupported_parameter'],
    ['an image in a system message', { model: 'gpt-5.5', messages: [{ role: 'system', content: [png] }, user('x')] }, 'messages[0].content[0].type'],
    ['a tool message without tool_call_id', { model: 'gpt-5.5', messages: [user('x'), { role: 'tool', content: 'y' }] }, 'messages[1].tool_call_id'],
    ['a tool call without an id', { model: 'gpt-5.5', messages: [user('x'), { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }] }, 'messages[1].tool_calls[0].id'],
    ['a function answer nobody asked for', { model: 'gpt-5.5', messages: [user('x'), { role: 'function', name: 'f', content: '1' }] }, 'messages[1]'],
    ['n above 1', { ...minimal, n: 2 }, 'n', 'unsupported_parameter'],
    ['logprobs', { ...minimal, logprobs: true }, 'logprobs', 'unsupported_parameter'],
    ['top_logprobs', { ...minimal, top_logprobs: 3 }, 'top_logprobs', 'unsupported_parameter'],
    ['a logit_bias', { ...minimal, logit_bias: { '50256': -100 } }, 'logit_bias', 'unsupported_parameter'],
    ['audio output', { ...minimal, modalities: ['text', 'audio'] }, 'modalities', 'unsupported_parameter'],
    ['an audio parameter', { ...minimal, audio: { voice: 'alloy', format: 'wav' } }, 'audio', 'unsupported_parameter'],
    ['a web_search tool instead of web_search_options', { ...minimal, tools: [{ type: 'web_search' }] }, 'tools[0].type', 'unsupported_parameter'],
    ['a bad web_search_options.user_location', { ...minimal, web_search_options: { user_location: { type: 'exact' } } }, 'web_search_options.user_location.type'],
    ['an unknown tool type', { ...minimal, tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type', 'unsupported_parameter'],
    ['a function tool without a name', { ...minimal, tools: [{ type: 'function', function: { description: 'x' } }] }, 'tools[0].function.name'],
    ['a tool_choice naming an unknown function', { ...minimal, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice'],
    ['an unknown tool_choice string', { ...minimal, tools: [weatherTool], tool_choice: 'always' }, 'tool_choice'],
    ['tools and functions together', { ...minimal, tools: [weatherTool], functions: [{ name: 'f' }] }, 'functions'],
    ['an unknown response_format', { ...minimal, response_format: { type: 'xml' } }, 'response_format.type'],
    ['a json_schema without a schema', { ...minimal, response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema'],
    ['a bad verbosity', { ...minimal, verbosity: 'loud' }, 'verbosity'],
    ['a string temperature', { ...minimal, temperature: 'hot' }, 'temperature'],
    ['a string stream flag', { ...minimal, stream: 'yes' }, 'stream'],
    ['a numeric stop', { ...minimal, stop: 5 }, 'stop'],
  ];
  for (const [name, body, param, code] of cases) {
    it(`rejects ${name}`, () => {
      const err = rejects(body);
      expect(err.status).toBe(400);
      expect(err.param).toBe(param);
      if (code) expect(err.code).toBe(code);
    });
  }

  it('answers 404 model_not_found for a model it does not serve', () => {
    expect(rejects({ ...minimal, model: 'gpt-4o' })).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });
});

import { describe, expect, it } from 'vitest';
import { estimateInputTokens, normalizeMessagesRequest } from '../../../worker/translate/messages-request.ts';
import { serverClaudeModelMap } from '../../../worker/translate/messages-models.ts';
import { ApiError } from '../../../worker/shared/errors.ts';
import { MODELS } from '../helpers/models.ts';

type Json = Record<string, any>;
const OPTIONS = { models: MODELS, claudeModels: serverClaudeModelMap({}) };
const PNG = 'iVBORw0KGgo=';

function normalize(body: Json) {
  return normalizeMessagesRequest({ model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, ...body }, OPTIONS);
}

function failure(body: Json): ApiError {
  try {
    normalize(body);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('an Anthropic Messages body as the backend gets it', () => {
  it('sends system blocks as instructions, and the conversation as input items', () => {
    const { body } = normalize({
      system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Be brief.' }],
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Again', cache_control: { type: 'ephemeral' } }] },
      ],
    });
    expect(body).toMatchObject({ model: 'gpt-5.5', instructions: 'You are Claude Code.\n\nBe brief.', store: false, stream: true, include: ['reasoning.encrypted_content'] });
    expect(body.input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello.' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Again' }] },
    ]);
  });

  it('sends images (base64 and URL) and documents (PDF, text, URL)', () => {
    const { body } = normalize({ messages: [{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'spec.pdf' },
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Plain notes.' }, title: 'Notes' },
      { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } },
    ] }] });
    expect((body.input[0] as Json).content).toEqual([
      { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' },
      { type: 'input_image', image_url: 'https://example.com/cat.jpg', detail: 'auto' },
      { type: 'input_file', filename: 'spec.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' },
      { type: 'input_text', text: 'Notes\n\nPlain notes.' },
      { type: 'input_file', file_url: 'https://example.com/a.pdf' },
    ]);
  });

  it('turns tool_use into function calls and tool_result (errors, content arrays) into their outputs, before the rest of the message', () => {
    const { body } = normalize({ messages: [
      { role: 'user', content: 'List files' },
      { role: 'assistant', content: [
        { type: 'text', text: 'Looking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } },
        { type: 'tool_use', id: 'toolu_2', name: 'Read', input: { file_path: '/x' } },
      ] },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a.txt' }, { type: 'text', text: 'b.txt' }] },
        { type: 'tool_result', tool_use_id: 'toolu_2', is_error: true, content: 'No such file' },
        { type: 'text', text: 'Go on.' },
      ] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_3', name: 'Shot', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_3', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] }] },
    ] });
    expect(body.input.slice(1)).toEqual([
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Looking.' }] },
      { type: 'function_call', call_id: 'toolu_1', name: 'Bash', arguments: '{"command":"ls"}' },
      { type: 'function_call', call_id: 'toolu_2', name: 'Read', arguments: '{"file_path":"/x"}' },
      { type: 'function_call_output', call_id: 'toolu_1', output: 'a.txt\nb.txt' },
      { type: 'function_call_output', call_id: 'toolu_2', output: 'Error: No such file' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Go on.' }] },
      { type: 'function_call', call_id: 'toolu_3', name: 'Shot', arguments: '{}' },
      { type: 'function_call_output', call_id: 'toolu_3', output: [{ type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' }] },
    ]);
  });

  it('replays our thinking blocks as reasoning items and drops signatures that are not ours', () => {
    const { body } = normalize({ messages: [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: [
        { type: 'thinking', thinking: 'Plan.', signature: 'usemysub.v1.gAAAAABsecret' },
        { type: 'thinking', thinking: 'From Anthropic.', signature: 'EqQBCkgIARABGAIiQL' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy' },
        { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'pwd' } },
      ] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '/' }] },
    ] });
    expect(body.input.slice(1, 3)).toEqual([
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Plan.' }], encrypted_content: 'gAAAAABsecret' },
      { type: 'function_call', call_id: 'toolu_1', name: 'Bash', arguments: '{"command":"pwd"}' },
    ]);
  });

  it('translates tools and each tool_choice, and the parallel-call switch', () => {
    const tools = [{ name: 'Bash', description: 'Run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } }];
    const choices: [Json, unknown][] = [
      [{ type: 'auto' }, 'auto'], [{ type: 'any' }, 'required'], [{ type: 'none' }, 'none'], [{ type: 'tool', name: 'Bash' }, { type: 'function', name: 'Bash' }],
    ];
    for (const [choice, expected] of choices) {
      const { body } = normalize({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice: choice });
      expect(body.tool_choice).toEqual(expected);
      expect(body.tools).toEqual([{ type: 'function', name: 'Bash', description: 'Run a command', parameters: tools[0]!.input_schema, strict: false }]);
    }
    const serial = normalize({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice: { type: 'auto', disable_parallel_tool_use: true } });
    expect(serial.body.parallel_tool_calls).toBe(false);
    const search = normalize({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }] });
    expect(search.body.tools).toEqual([{ type: 'web_search' }]);
  });

  it('picks the effort from the thinking budget, clamped to the model, and asks for summaries only with thinking', () => {
    const effort = (thinking: Json | undefined, model = 'claude-sonnet-4-5') => normalize({ model, messages: [{ role: 'user', content: 'x' }], ...(thinking ? { thinking } : {}) });
    expect(effort({ type: 'enabled', budget_tokens: 1024 }).body.reasoning).toEqual({ effort: 'low', summary: 'auto' });
    expect(effort({ type: 'enabled', budget_tokens: 10_000 }).body.reasoning).toEqual({ effort: 'medium', summary: 'auto' });
    expect(effort({ type: 'enabled', budget_tokens: 31_999 }).body.reasoning).toEqual({ effort: 'high', summary: 'auto' });
    expect(effort({ type: 'enabled', budget_tokens: 64_000 }).body.reasoning).toEqual({ effort: 'xhigh', summary: 'auto' });
    expect(effort({ type: 'enabled', budget_tokens: 64_000 }).thinking).toBe(true);
    expect(effort({ type: 'disabled' }).body.reasoning).toEqual({ effort: 'medium' });
    // Without a budget the map's effort holds: opus is gpt-5.5-high by default.
    expect(effort(undefined, 'claude-opus-4-1').body.reasoning).toEqual({ effort: 'high' });
    expect(effort(undefined, 'claude-3-5-haiku-latest').body).toMatchObject({ model: 'gpt-5.4-mini', reasoning: { effort: 'low' } });
  });

  it('takes Claude Code’s effort setting and its thinking without summaries (display: omitted)', () => {
    const request = normalize({ messages: [{ role: 'user', content: 'x' }], thinking: { type: 'adaptive', display: 'omitted' }, output_config: { effort: 'max' } });
    expect(request.body.reasoning).toEqual({ effort: 'xhigh' });
    expect(request.thinking).toBe(true);
    expect(normalize({ messages: [{ role: 'user', content: 'x' }], output_config: { effort: 'low' } }).body.reasoning).toEqual({ effort: 'low' });
    // A map entry with an effort pins it.
    expect(normalize({ model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'x' }], output_config: { effort: 'low' } }).body.reasoning).toEqual({ effort: 'high' });
  });

  it('keeps system messages of the conversation where they are, as developer messages', () => {
    const { body } = normalize({ messages: [
      { role: 'user', content: 'Hi' },
      { role: 'system', content: [{ type: 'text', text: 'Working directory: /tmp' }] },
    ] });
    expect(body.input[1]).toEqual({ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Working directory: /tmp' }] });
  });

  it('asks for structured output with a JSON schema as the backend’s text.format', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    for (const where of [{ output_config: { format: { type: 'json_schema', schema } } }, { output_format: { type: 'json_schema', schema } }]) {
      expect(normalize({ messages: [{ role: 'user', content: 'x' }], ...where }).body.text).toEqual({ format: { type: 'json_schema', name: 'output', schema } });
    }
    expect(failure({ messages: [{ role: 'user', content: 'x' }], output_config: { format: { type: 'json_schema' } } })).toMatchObject({ param: 'output_config.format.schema' });
  });

  it('serves a GPT model id as it is', () => {
    expect(normalize({ model: 'gpt-5.4-xhigh', messages: [{ role: 'user', content: 'x' }] }).body).toMatchObject({ model: 'gpt-5.4', reasoning: { effort: 'xhigh' } });
  });

  it('keeps stop sequences for our side and lists what it did not forward', () => {
    const request = normalize({
      messages: [{ role: 'user', content: 'x' }], stop_sequences: ['\n\nHuman:', ''], temperature: 1, top_k: 5, metadata: { user_id: 'abc' }, stream: true,
    });
    expect(request).toMatchObject({ stop: ['\n\nHuman:'], stream: true, model: 'claude-sonnet-4-5-20250929' });
    expect(request.ignored.sort()).toEqual(['max_tokens', 'metadata', 'temperature', 'top_k']);
    for (const name of ['temperature', 'top_k', 'metadata', 'stop_sequences', 'max_tokens']) expect(request.body).not.toHaveProperty(name);
  });

  it('refuses what it cannot express, naming the param', () => {
    expect(failure({ messages: [] })).toMatchObject({ code: 'invalid_request', param: 'messages' });
    expect(failure({ messages: [{ role: 'tool', content: 'x' }] })).toMatchObject({ param: 'messages[0].role' });
    expect(failure({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f_1' } }] }] })).toMatchObject({
      code: 'unsupported_parameter', param: 'messages[0].content[0].source.type',
    });
    expect(failure({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'bash_20250124', name: 'bash' }] })).toMatchObject({ param: 'tools[0].type' });
    expect(failure({ messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'a' }], tool_choice: { type: 'tool', name: 'b' } })).toMatchObject({ param: 'tool_choice.name' });
    expect(failure({ model: 'claude-unknown-7', messages: [{ role: 'user', content: 'x' }] })).toMatchObject({ code: 'model_not_found', status: 404 });
  });
});

describe('the count_tokens estimate', () => {
  it('grows with the text and counts an image as a flat amount, not by its bytes', () => {
    const small = estimateInputTokens(normalize({ messages: [{ role: 'user', content: 'x'.repeat(40) }] }).body);
    const large = estimateInputTokens(normalize({ messages: [{ role: 'user', content: 'x'.repeat(4_000) }] }).body);
    expect(large - small).toBe(990);
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(400_000) } };
    const withImage = estimateInputTokens(normalize({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(40) }, image] }] }).body);
    expect(withImage - small).toBe(1_000);
  });
});

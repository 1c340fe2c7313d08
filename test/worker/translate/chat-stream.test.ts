import { describe, expect, it } from 'vitest';
import { ChatStreamTranslator, type ChatStreamOptions } from '../../../worker/translate/chat-stream.ts';
import type { ChatChunk } from '../../../worker/translate/chat-types.ts';
import { StopSequenceFilter } from '../../../worker/translate/stop-sequences.ts';
import {
  ARGS_A, ARGS_B, CHAT_USAGE, COMPLETED, failed, FULL_STREAM, incomplete, MESSAGE_EVENTS, OPENING_EVENTS,
  RAW_REASONING_STREAM, SUMMARY, TEXT, TEXT_STREAM, WHOLE_ITEMS_STREAM,
} from '../fixtures/chat-streams.ts';
import { rejection } from '../helpers/rejection.ts';
import { eventOf } from '../helpers/sse.ts';

const OPTIONS: ChatStreamOptions = {
  id: 'chatcmpl-test',
  created: 1764000000,
  model: 'gpt-5.5-high',
  includeUsage: false,
  reasoningDisplay: 'reasoning_content',
  stop: [],
  legacyFunctions: false,
};

function translate(events: Record<string, unknown>[], options: Partial<ChatStreamOptions> = {}): ChatChunk[] {
  const translator = new ChatStreamTranslator({ ...OPTIONS, ...options });
  const chunks = [translator.start()];
  for (const event of events) chunks.push(...translator.push(eventOf(event)));
  return chunks;
}

/** What a client assembles from the chunks. */
function assemble(chunks: ChatChunk[]) {
  const out = { content: '', reasoning: '', refusal: '', tools: [] as { id?: string; name?: string; arguments: string }[], finish: [] as string[] };
  for (const chunk of chunks) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    out.content += choice.delta.content ?? '';
    out.reasoning += choice.delta.reasoning_content ?? '';
    out.refusal += choice.delta.refusal ?? '';
    for (const call of choice.delta.tool_calls ?? []) {
      const known = (out.tools[call.index] ??= { arguments: '' });
      if (call.id) known.id = call.id;
      if (call.function.name) known.name = call.function.name;
      known.arguments += call.function.arguments;
    }
    if (choice.finish_reason) out.finish.push(choice.finish_reason);
  }
  return out;
}

describe('translating a Codex stream into chat.completion.chunk objects', () => {
  it('starts with one assistant role chunk and keeps one id, created and model in every chunk', () => {
    const chunks = translate(FULL_STREAM);
    expect(chunks[0]?.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    expect(chunks.filter((c) => c.choices[0]?.delta.role)).toHaveLength(1);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1764000000, model: 'gpt-5.5-high' });
    }
  });

  it('sends reasoning summaries as reasoning_content, parts apart, then the text, then the tool calls', () => {
    const chunks = translate(FULL_STREAM);
    const result = assemble(chunks);
    expect(result.reasoning).toBe(`${SUMMARY[0]}\n\n${SUMMARY[1]}`);
    expect(result.content).toBe(TEXT);
    const kinds = chunks.map((c) => Object.keys(c.choices[0]?.delta ?? {})[0]).filter(Boolean);
    expect(kinds.indexOf('reasoning_content')).toBeLessThan(kinds.indexOf('content', 1));
    expect(kinds.lastIndexOf('content')).toBeLessThan(kinds.indexOf('tool_calls'));
  });

  it('streams text piece by piece as the deltas arrive, multi-byte characters intact', () => {
    const pieces = translate(TEXT_STREAM).map((c) => c.choices[0]?.delta.content).filter((t) => t);
    expect(pieces).toEqual(['Paris: 18°C ☀️, ', 'Zürich: 12°C ', '🌧️.']);
  });

  it('keeps parallel tool calls apart by item id although both claim output_index 0', () => {
    const chunks = translate(FULL_STREAM);
    const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(toolDeltas.slice(0, 2)).toEqual([
      { index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 1, id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '' } },
    ]);
    // Argument pieces follow in upstream order, each under its own call's index, without id or name.
    expect(toolDeltas.slice(2)).toEqual([
      { index: 0, function: { arguments: '{"city":' } },
      { index: 1, function: { arguments: '{"city":' } },
      { index: 1, function: { arguments: '"Zürich"}' } },
      { index: 0, function: { arguments: '"Paris"}' } },
    ]);
    expect(assemble(chunks).tools).toEqual([
      { id: 'call_a', name: 'get_weather', arguments: ARGS_A },
      { id: 'call_b', name: 'get_weather', arguments: ARGS_B },
    ]);
  });

  it('finishes with tool_calls when the model called tools, and stop otherwise', () => {
    expect(assemble(translate(FULL_STREAM)).finish).toEqual(['tool_calls']);
    expect(assemble(translate(TEXT_STREAM)).finish).toEqual(['stop']);
    expect(translate(TEXT_STREAM).at(-1)?.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
  });

  it('finishes an incomplete response with length, or content_filter when the filter cut it', () => {
    const cut = (reason: string) => assemble(translate([...OPENING_EVENTS, ...MESSAGE_EVENTS.slice(0, 3), incomplete(reason)]));
    expect(cut('max_output_tokens')).toMatchObject({ content: 'Paris: 18°C ☀️, ', finish: ['length'] });
    expect(cut('content_filter').finish).toEqual(['content_filter']);
  });

  it('adds a usage chunk with cached and reasoning details only when include_usage is set', () => {
    const withUsage = translate(TEXT_STREAM, { includeUsage: true });
    expect(withUsage.at(-1)).toEqual({
      id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1764000000, model: 'gpt-5.5-high',
      system_fingerprint: null, choices: [], usage: CHAT_USAGE,
    });
    expect(withUsage.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    const without = translate(TEXT_STREAM);
    expect(without.some((c) => 'usage' in c)).toBe(false);
  });

  it('says nothing for rate-limit, content-part and unknown events', () => {
    const quiet = [...OPENING_EVENTS, { type: 'response.something_new' }, { type: 'response.content_part.added', item_id: 'm' }];
    expect(translate(quiet)).toHaveLength(1);
  });

  it('passes raw reasoning text on as reasoning_content', () => {
    expect(assemble(translate(RAW_REASONING_STREAM))).toMatchObject({ reasoning: 'Let me think. Done.', content: TEXT });
  });

  it('delivers items that arrive only whole, and a tool call whose name comes last', () => {
    const result = assemble(translate(WHOLE_ITEMS_STREAM));
    expect(result).toMatchObject({ reasoning: 'Quick check.', content: 'Whole text.', finish: ['tool_calls'] });
    expect(result.tools).toEqual([{ id: 'call_w', name: 'get_weather', arguments: '{"q":1}' }]);
  });

  it('leaves reasoning out when it is hidden', () => {
    const chunks = translate(FULL_STREAM, { reasoningDisplay: 'hidden' });
    expect(assemble(chunks).reasoning).toBe('');
    expect(assemble(chunks).content).toBe(TEXT);
  });

  it('can show reasoning inside <think> tags in the content instead', () => {
    const result = assemble(translate(FULL_STREAM, { reasoningDisplay: 'think_tags' }));
    expect(result.reasoning).toBe('');
    expect(result.content).toBe(`<think>\n${SUMMARY[0]}\n\n${SUMMARY[1]}\n</think>\n\n${TEXT}`);
  });

  it('answers a legacy functions request with one function_call and finish_reason function_call', () => {
    const chunks = translate(FULL_STREAM, { legacyFunctions: true });
    const calls = chunks.flatMap((c) => (c.choices[0]?.delta.function_call ? [c.choices[0].delta.function_call] : []));
    expect(calls[0]).toEqual({ name: 'get_weather', arguments: '' });
    expect(calls.map((c) => c.arguments).join('')).toBe(ARGS_A);
    expect(chunks.some((c) => c.choices[0]?.delta.tool_calls)).toBe(false);
    expect(assemble(chunks).finish).toEqual(['function_call']);
  });

  it('passes a refusal on as refusal deltas, from the deltas or the finished item', () => {
    const refusal = (events: Record<string, unknown>[]) => assemble(translate([...OPENING_EVENTS, ...events, COMPLETED])).refusal;
    expect(refusal([{ type: 'response.refusal.delta', item_id: 'msg_r', output_index: 0, content_index: 0, delta: 'I cannot help with that.' }])).toBe(
      'I cannot help with that.',
    );
    const whole = { type: 'message', id: 'msg_r', role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] };
    expect(refusal([{ type: 'response.output_item.done', output_index: 0, item: whole }])).toBe('No.');
  });

  it('throws the mapped error for response.failed and for an error event', async () => {
    const translator = new ChatStreamTranslator(OPTIONS);
    const tooLong = await rejection(Promise.resolve().then(() => translator.push(eventOf(failed('context_length_exceeded', 'Too long.')))));
    expect(tooLong).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    const resetsAt = 1_900_000_000;
    const limit = { type: 'error', error: { type: 'usage_limit_reached', message: 'limit', resets_at: resetsAt } };
    const err = await rejection(Promise.resolve().then(() => new ChatStreamTranslator(OPTIONS).push(eventOf(limit))));
    expect(err).toMatchObject({ status: 429, code: 'usage_limit_reached' });
    expect(err.message).toContain(new Date(resetsAt * 1000).toISOString());
  });
});

describe('stop sequences', () => {
  it('cuts the text where a stop sequence begins, even split across deltas, and finishes with stop', () => {
    const chunks = translate(FULL_STREAM, { stop: ['12°C 🌧'] });
    const result = assemble(chunks);
    expect(result.content).toBe('Paris: 18°C ☀️, Zürich: ');
    expect(result.finish).toEqual(['stop']);
    expect(result.tools).toEqual([]);
  });

  it('uses the earliest of several stop sequences', () => {
    expect(assemble(translate(TEXT_STREAM, { stop: ['Zürich', ':'] })).content).toBe('Paris');
  });

  it('holds back only text that could still begin a stop sequence', () => {
    const filter = new StopSequenceFilter(['END']);
    expect(filter.push('abc E')).toEqual({ text: 'abc ', stopped: false });
    expect(filter.push('N')).toEqual({ text: '', stopped: false });
    expect(filter.push('x')).toEqual({ text: 'ENx', stopped: false });
    expect(filter.push('yEND and more')).toEqual({ text: 'y', stopped: true });
  });

  it('releases held text when the answer ends without the stop sequence', () => {
    expect(assemble(translate(TEXT_STREAM, { stop: ['🌧️.!'] }))).toMatchObject({ content: TEXT, finish: ['stop'] });
  });

  it('stops translating after the stop sequence', () => {
    const translator = new ChatStreamTranslator({ ...OPTIONS, stop: ['Paris'] });
    translator.push(eventOf(MESSAGE_EVENTS[2]!));
    expect(translator.finished).toBe(true);
    expect(translator.push(eventOf(COMPLETED))).toEqual([]);
  });
});

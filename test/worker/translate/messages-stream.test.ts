import { describe, expect, it } from 'vitest';
import { MessagesStreamTranslator, type MessagesStreamOptions } from '../../../worker/translate/messages-stream.ts';
import type { MessagesEvent } from '../../../worker/translate/messages-types.ts';
import { MessageBuilder } from '../../../worker/translate/messages-response.ts';
import { eventOf } from '../helpers/sse.ts';
import {
  ARGS_A, ARGS_B, COMPLETED, failed, FULL_STREAM, incomplete, MESSAGE_EVENTS, OPENING_EVENTS, RAW_REASONING_STREAM, SUMMARY, TEXT,
  TEXT_STREAM, WHOLE_ITEMS_STREAM,
} from '../fixtures/chat-streams.ts';

const OPTIONS: MessagesStreamOptions = { id: 'msg_test', model: 'claude-sonnet-4-5', stop: [], thinking: true };

const asEvent = eventOf;

function translate(events: Record<string, unknown>[], options: Partial<MessagesStreamOptions> = {}): MessagesEvent[] {
  const translator = new MessagesStreamTranslator({ ...OPTIONS, ...options });
  const out = translator.start();
  for (const event of events) out.push(...translator.push(asEvent(event)));
  return out;
}

function build(events: MessagesEvent[]) {
  const builder = new MessageBuilder();
  for (const event of events) builder.add(event);
  return builder.build();
}

/** Every block starts, gets its deltas and stops before the next one starts, at increasing indexes. */
function expectWellFormed(events: MessagesEvent[]): void {
  let open: number | null = null;
  let next = 0;
  for (const event of events) {
    if (event.type === 'content_block_start') {
      expect(open, 'a block started while another was open').toBeNull();
      expect(event.index).toBe(next++);
      open = event.index;
    } else if (event.type === 'content_block_delta') {
      expect(event.index).toBe(open);
    } else if (event.type === 'content_block_stop') {
      expect(event.index).toBe(open);
      open = null;
    }
  }
  expect(open).toBeNull();
  expect(events.slice(-2).map((e) => e.type)).toEqual(['message_delta', 'message_stop']);
}

describe('translating a Codex stream into Anthropic stream events', () => {
  it('opens with message_start and a ping, and ends with message_delta and message_stop', () => {
    const events = translate(TEXT_STREAM);
    expect(events[0]).toMatchObject({ type: 'message_start', message: { id: 'msg_test', model: 'claude-sonnet-4-5', role: 'assistant', content: [], stop_reason: null } });
    expect(events[1]).toEqual({ type: 'ping' });
    expectWellFormed(events);
    expect(build(events)).toMatchObject({ content: [{ type: 'text', text: TEXT }], stop_reason: 'end_turn' });
  });

  it('reports usage with the cached input apart, as Anthropic counts it', () => {
    const events = translate(TEXT_STREAM);
    expect(events.at(-2)).toEqual({
      type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 176, output_tokens: 80, cache_creation_input_tokens: 0, cache_read_input_tokens: 1024 },
    });
  });

  it('sends reasoning as a thinking block, summary parts apart, its signature carrying the encrypted reasoning', () => {
    const events = translate(FULL_STREAM);
    expectWellFormed(events);
    const message = build(events);
    expect(message.content[0]).toEqual({ type: 'thinking', thinking: `${SUMMARY[0]}\n\n${SUMMARY[1]}`, signature: 'usemysub.v1.gAAAAABenc==' });
    expect(events.filter((e) => e.type === 'content_block_delta' && e.delta.type === 'thinking_delta').length).toBeGreaterThan(1);
  });

  it('keeps parallel tool calls in separate blocks although their argument deltas interleave', () => {
    const events = translate(FULL_STREAM);
    expectWellFormed(events);
    const message = build(events);
    expect(message.content.slice(1)).toEqual([
      { type: 'text', text: TEXT },
      { type: 'tool_use', id: 'call_a', name: 'get_weather', input: JSON.parse(ARGS_A) },
      { type: 'tool_use', id: 'call_b', name: 'get_weather', input: JSON.parse(ARGS_B) },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    const firstCallDeltas = events.filter((e) => e.type === 'content_block_delta' && e.index === 2);
    expect(firstCallDeltas.length).toBeGreaterThan(1);
  });

  it('leaves reasoning out entirely when thinking was not asked for', () => {
    const message = build(translate(FULL_STREAM, { thinking: false }));
    expect(message.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
  });

  it('shows raw reasoning text too, with no signature when there is no encrypted content', () => {
    const message = build(translate(RAW_REASONING_STREAM));
    expect(message.content[0]).toEqual({ type: 'thinking', thinking: 'Let me think. Done.', signature: '' });
  });

  it('sends items that arrive only whole', () => {
    const events = translate(WHOLE_ITEMS_STREAM);
    expectWellFormed(events);
    expect(build(events).content).toEqual([
      { type: 'thinking', thinking: 'Quick check.', signature: '' },
      { type: 'text', text: 'Whole text.' },
      { type: 'tool_use', id: 'call_w', name: 'get_weather', input: { q: 1 } },
    ]);
  });

  it('ends at a stop sequence, names it, and sends nothing after it', () => {
    const events = translate(TEXT_STREAM, { stop: ['Zürich'] });
    expectWellFormed(events);
    expect(build(events)).toMatchObject({ content: [{ type: 'text', text: 'Paris: 18°C ☀️, ' }], stop_reason: 'stop_sequence', stop_sequence: 'Zürich' });
  });

  it('holds back a possible stop sequence and lets it go when none completes', () => {
    const message = build(translate(TEXT_STREAM, { stop: ['12°C 🌧️!'] }));
    expect(message).toMatchObject({ content: [{ type: 'text', text: TEXT }], stop_reason: 'end_turn' });
  });

  it('maps an answer cut at the output limit to max_tokens and a content filter to refusal', () => {
    const cut = [...OPENING_EVENTS, ...MESSAGE_EVENTS];
    expect(build(translate([...cut, incomplete('max_output_tokens')])).stop_reason).toBe('max_tokens');
    expect(build(translate([...cut, incomplete('content_filter')])).stop_reason).toBe('refusal');
  });

  it('answers a refusal as text with stop_reason refusal', () => {
    const events = translate([
      ...OPENING_EVENTS,
      { type: 'response.output_item.added', output_index: 0, item: { id: 'msg_r', type: 'message', role: 'assistant', content: [] } },
      { type: 'response.refusal.delta', item_id: 'msg_r', output_index: 0, delta: 'I can’t help with that.' },
      { type: 'response.output_item.done', output_index: 0, item: { id: 'msg_r', type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'I can’t help with that.' }] } },
      COMPLETED,
    ]);
    expect(build(events)).toMatchObject({ content: [{ type: 'text', text: 'I can’t help with that.' }], stop_reason: 'refusal' });
  });

  it('throws the mapped error for response.failed', () => {
    const translator = new MessagesStreamTranslator(OPTIONS);
    expect(() => translator.push(asEvent(failed('server_error', 'Boom.')))).toThrow(/Boom/);
  });

  it('reads nothing after the terminal event', () => {
    const translator = new MessagesStreamTranslator(OPTIONS);
    for (const event of TEXT_STREAM) translator.push(asEvent(event));
    expect(translator.finished).toBe(true);
    expect(translator.usage).toMatchObject({ output_tokens: 80 });
    expect(translator.push(asEvent(COMPLETED))).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../worker/shared/errors.ts';
import { MODELS } from '../helpers/models.ts';
import { normalizeResponsesRequest } from '../../../worker/translate/responses-request.ts';
import { finalResponseTap } from '../../../worker/translate/responses-stream.ts';
import { feedOf } from '../helpers/sse.ts';
import {
  currentTurnCallIds, expandStoredInput, observedTurn, referencedIds, toolTurnReasoning, withToolReasoning,
  type ObservedTurn, type StoreAnswer,
} from '../../../worker/translate/stored-context.ts';

const user = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
const reasoning = { id: 'rs_1', type: 'reasoning', summary: [], encrypted_content: 'gAAAA-secret' };
const call = (callId: string) => ({ type: 'function_call', call_id: callId, name: 'get_weather', arguments: '{}' });
const answer = (patch: Partial<StoreAnswer> = {}): StoreAnswer => ({ chain: null, items: {}, toolReasoning: {}, ...patch });

function thrown(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('finding what a Responses request refers to', () => {
  it('sees item_reference, the typeless {id} and a reasoning item sent without its content', () => {
    const input = [
      { type: 'item_reference', id: 'rs_1' },
      { id: 'msg_2' },
      { type: 'reasoning', id: 'rs_3', summary: [] },
      { ...reasoning, id: 'rs_4' },
      user('hi'),
      { type: 'item_reference', id: 'rs_1' },
    ];
    expect(referencedIds(input)).toEqual(['rs_1', 'msg_2', 'rs_3']);
  });

  it('asks nothing of the store for a plain request, and strips item ids the backend would look up', () => {
    const request = normalizeResponsesRequest({
      model: 'gpt-5.5',
      input: [user('hi'), { ...reasoning }, { ...call('call_1'), id: 'fc_1' }],
    }, { models: MODELS });
    expect(request.storeQuery).toEqual({ previousResponseId: null, itemIds: [], callIds: [] });
    expect(request.body.input).toEqual([user('hi'), { type: 'reasoning', summary: [], encrypted_content: 'gAAAA-secret' }, call('call_1')]);
  });
});

describe('expanding stored state', () => {
  it('replaces each reference by the stored item, without its id', () => {
    const { history, input } = expandStoredInput(
      [user('hi'), { type: 'item_reference', id: 'rs_1' }, call('call_1')],
      null,
      answer({ items: { rs_1: reasoning } }),
    );
    expect(history).toEqual([]);
    expect(input).toEqual([user('hi'), { type: 'reasoning', summary: [], encrypted_content: 'gAAAA-secret' }, call('call_1')]);
  });

  it('puts the previous response chain first', () => {
    const chain = [user('first'), { id: 'msg_1', type: 'message', role: 'assistant', content: [] }];
    const { history, input } = expandStoredInput([user('second')], 'resp_1', answer({ chain: { kind: 'found', items: chain } }));
    expect(history).toEqual([user('first'), { type: 'message', role: 'assistant', content: [] }]);
    expect(input).toEqual([user('second')]);
  });

  it('answers 404 item_not_found naming the input index for an item it does not have', () => {
    const err = thrown(() => expandStoredInput([user('hi'), { type: 'item_reference', id: 'rs_gone' }], null, answer()));
    expect(err).toMatchObject({ status: 404, code: 'item_not_found', param: 'input[1]', type: 'invalid_request_error' });
    expect(err.message).toMatch(/^Item with id 'rs_gone' not found\./);
  });

  it('answers 400 previous_response_not_found for an unknown, broken or too large chain', () => {
    const unknown = thrown(() => expandStoredInput([user('hi')], 'resp_x', answer()));
    expect(unknown).toMatchObject({ status: 400, code: 'previous_response_not_found', param: 'previous_response_id' });
    expect(unknown.message).toMatch(/^Previous response with id 'resp_x' not found\./);
    const broken = thrown(() => expandStoredInput([user('hi')], 'resp_x', answer({ chain: { kind: 'missing', id: 'resp_old' } })));
    expect(broken.message).toMatch(/'resp_old'.*no longer stored/);
    const large = thrown(() => expandStoredInput([user('hi')], 'resp_x', answer({ chain: { kind: 'too_large', id: 'resp_x' } })));
    expect(large.message).toMatch(/too large to store/);
  });
});

describe('Chat reasoning across tool turns', () => {
  it('looks up only the tool calls made since the last user message', () => {
    const input = [user('one'), call('call_old'), user('two'), call('call_a'), call('call_b'), { type: 'function_call_output', call_id: 'call_a', output: '1' }];
    expect(currentTurnCallIds(input)).toEqual(['call_a', 'call_b']);
    expect(currentTurnCallIds([user('hi')])).toEqual([]);
  });

  it('puts the reasoning back before the assistant turn that made the calls, once for parallel calls', () => {
    const text = { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.' }] };
    const output = (id: string) => ({ type: 'function_call_output', call_id: id, output: 'ok' });
    const input = [user('hi'), text, call('call_a'), call('call_b'), output('call_a'), output('call_b')];
    const stripped = { type: 'reasoning', summary: [], encrypted_content: 'gAAAA-secret' };
    expect(withToolReasoning(input, { call_a: [reasoning], call_b: [reasoning] })).toEqual([
      user('hi'), stripped, text, call('call_a'), call('call_b'), output('call_a'), output('call_b'),
    ]);
    expect(withToolReasoning(input, {})).toEqual(input);
  });

  it('keeps a turn’s reasoning only when the turn ended in tool calls', () => {
    expect(toolTurnReasoning([reasoning, call('call_a')])).toEqual({ callIds: ['call_a'], reasoning: [reasoning] });
    expect(toolTurnReasoning([reasoning, { type: 'message', role: 'assistant', content: [] }])).toBeNull();
    expect(toolTurnReasoning([call('call_a')])).toBeNull();
  });
});

describe('observing an answer', () => {
  async function run(events: Record<string, unknown>[]): Promise<{ seen: string[]; turns: ObservedTurn[] }> {
    const turns: ObservedTurn[] = [];
    const feed = feedOf(events);
    feed.observe(finalResponseTap((final) => {
      const turn = observedTurn(final);
      if (turn) turns.push(turn);
    }));
    const seen: string[] = [];
    for (let batch = await feed.read(); batch !== null; batch = await feed.read()) seen.push(...batch.map((e) => JSON.stringify(e.data)));
    return { seen, turns };
  }

  const item = (data: Record<string, unknown>) => ({ type: 'response.output_item.done', item: data });
  const created = { type: 'response.created', response: { id: 'resp_1', output: [] } };

  it('passes every event through unchanged and reports the finished items at the end', async () => {
    const events = [created, item(reasoning), item(call('call_a')), { type: 'response.completed', response: { id: 'resp_1', output: [] } }];
    const { seen, turns } = await run(events);
    expect(seen).toEqual(events.map((e) => JSON.stringify(e)));
    expect(turns).toEqual([{ responseId: 'resp_1', output: [reasoning, call('call_a')] }]);
  });

  it('reports nothing for a failed or cut answer', async () => {
    expect((await run([created, item(reasoning), { type: 'response.failed', response: { id: 'resp_1' } }])).turns).toEqual([]);
    expect((await run([created, item(reasoning)])).turns).toEqual([]);
  });
});

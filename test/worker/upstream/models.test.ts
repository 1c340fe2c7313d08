import { describe, expect, it } from 'vitest';
import { resolveServedModel } from '../../../worker/translate/backend-rules.ts';
import { buildModelIndex, listModels, lookupModel } from '../../../worker/translate/model-catalog.ts';
import { bundledModels, catalogOf, parseModelsBody } from '../../../worker/upstream/models.ts';
import { ApiError } from '../../../worker/shared/errors.ts';

/** A ModelInfo row as the backend sends it (most fields omitted). */
const info = (slug: string, efforts: string[], extra: Record<string, unknown> = {}) => ({
  slug, visibility: 'list', default_reasoning_level: 'medium', base_instructions: '…', context_window: 272_000,
  supported_reasoning_levels: efforts.map((effort) => ({ effort, description: effort })), ...extra,
});
const bundled = buildModelIndex(catalogOf(bundledModels('0.171.0')));
const ids = (index = bundled) => listModels(index).data.map((m) => m.id);

function refusal(index: ReturnType<typeof buildModelIndex>, id: string): ApiError {
  try {
    resolveServedModel(index, id);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error(`${id} was accepted`);
}

describe('the bundled catalog (served when the backend cannot be read)', () => {
  it('is today’s catalog: the 5.6 family first, no retired model', () => {
    expect(ids().filter((id) => !/-(low|medium|high|xhigh|max|ultra)$/.test(id))).toEqual([
      'gpt-5.6-sol', 'gpt-5.6-terra', 'gpt-5.6-luna', 'gpt-5.5', 'gpt-5.4', 'gpt-5.4-mini', 'gpt-5.3-codex-spark',
    ]);
    expect(ids()).not.toContain('gpt-5.3-codex');
    for (const model of listModels(bundled).data) {
      expect(model).toEqual({ id: model.id, object: 'model', created: expect.any(Number), owned_by: 'openai' });
    }
  });

  it('offers the max and ultra efforts only on the models that have them', () => {
    expect(ids()).toEqual(expect.arrayContaining(['gpt-5.6-sol-max', 'gpt-5.6-sol-ultra', 'gpt-5.6-luna-max']));
    expect(ids()).not.toContain('gpt-5.6-luna-ultra');
    expect(ids()).not.toContain('gpt-5.5-max');
  });

  it('leaves out the models a client version is too old for, as the backend does', () => {
    const old = buildModelIndex(catalogOf(bundledModels('0.130.0')));
    expect(ids(old)).toContain('gpt-5.5');
    expect(ids(old)).not.toContain('gpt-5.6-sol');
  });

  it('does not list hidden models, but resolves them by name', () => {
    expect(ids()).not.toContain('codex-auto-review');
    expect(lookupModel(bundled, 'codex-auto-review')?.model.slug).toBe('codex-auto-review');
  });
});

describe('reading the backend catalog', () => {
  it('takes slugs, visibility and efforts from ModelInfo, in priority order', () => {
    const rows = [
      info('codex-auto-review', ['low', 'max'], { visibility: 'hide', priority: 8 }),
      info('gpt-5.5', ['low', 'medium'], { priority: 4 }),
      info('gpt-5.6-sol', ['low', 'medium', 'high', 'xhigh', 'max', 'ultra'], { priority: 1 }),
    ];
    const parsed = parseModelsBody({ models: rows })!;
    expect(parsed.models.map((m) => m.slug)).toEqual(['gpt-5.6-sol', 'gpt-5.5', 'codex-auto-review']);
    expect(parsed.models[0]).toEqual({
      slug: 'gpt-5.6-sol', efforts: ['low', 'medium', 'high', 'xhigh', 'max', 'ultra'], defaultEffort: 'medium', listed: true,
    });
    expect(parsed.models.at(-1)).toMatchObject({ slug: 'codex-auto-review', listed: false });
  });

  it('skips rows it cannot read, and refuses a body that is not a catalog', () => {
    const parsed = parseModelsBody({ models: [{ display_name: 'no slug' }, info('gpt-x', ['high'])], etag: 'e1' })!;
    expect(parsed).toEqual({ models: [{ slug: 'gpt-x', efforts: ['high'], defaultEffort: 'high', listed: true }], etag: 'e1' });
    expect(parseModelsBody({ detail: 'nope' })).toBeNull();
    expect(parseModelsBody('x')).toBeNull();
  });

  it('never lets an effort alias shadow a real slug', () => {
    const index = buildModelIndex(catalogOf([
      { slug: 'gpt-9', efforts: ['mini'], defaultEffort: 'mini', listed: true },
      { slug: 'gpt-9-mini', efforts: ['low'], defaultEffort: 'low', listed: true },
    ]));
    expect(lookupModel(index, 'gpt-9-mini')).toMatchObject({ model: { slug: 'gpt-9-mini' }, effort: null });
  });
});

describe('resolving a client’s model id', () => {
  it('resolves slugs and aliases, forgiving case and spaces', () => {
    expect(resolveServedModel(bundled, 'gpt-5.5')).toMatchObject({ model: { slug: 'gpt-5.5' }, effort: null });
    expect(resolveServedModel(bundled, ' GPT-5.6-Sol-Ultra ')).toMatchObject({ model: { slug: 'gpt-5.6-sol' }, effort: 'ultra' });
  });

  it('answers 404 model_not_found, worded for each case', () => {
    const retired = refusal(bundled, 'gpt-5.3-codex');
    expect(retired).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    expect(retired.message).toMatch(/no longer served.*Use one of: gpt-5\.6-sol/);
    expect(refusal(bundled, 'gpt-5.6-luna-ultra').message).toMatch(/gpt-5\.6-luna supports the efforts low, medium, high, xhigh, max/);
    expect(refusal(bundled, 'gpt-4o').message).toMatch(/does not exist or is not available to your ChatGPT account/);
  });
});

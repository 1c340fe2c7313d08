import { describe, expect, it } from 'vitest';
import { CODEX_MODELS, describeModel, listModels, resolveModel } from '../../../worker/upstream/models.ts';

describe('model list', () => {
  it('lists the current Codex models in the OpenAI list shape', () => {
    const list = listModels();
    expect(list.object).toBe('list');
    const ids = list.data.map((m) => m.id);
    expect(ids).toContain('gpt-5.5');
    expect(ids).toContain('gpt-5.5-codex');
    for (const model of list.data) {
      expect(model).toEqual({ id: model.id, object: 'model', created: expect.any(Number), owned_by: 'openai' });
    }
  });

  it('offers an effort alias for every effort a model supports, and only those', () => {
    const ids = new Set(listModels().data.map((m) => m.id));
    for (const model of CODEX_MODELS) {
      for (const effort of model.efforts) expect(ids.has(`${model.slug}-${effort}`)).toBe(true);
    }
    expect(ids.has('gpt-5.1-codex-mini-low')).toBe(false);
    expect(new Set(listModels().data.map((m) => m.id)).size).toBe(listModels().data.length);
  });

  it('resolves a plain slug without choosing an effort', () => {
    expect(resolveModel('gpt-5.5')).toEqual({ slug: 'gpt-5.5', effort: null });
  });

  it('resolves an alias to its model and effort', () => {
    expect(resolveModel('gpt-5.5-high')).toEqual({ slug: 'gpt-5.5', effort: 'high' });
    expect(resolveModel('gpt-5.5-codex-xhigh')).toEqual({ slug: 'gpt-5.5-codex', effort: 'xhigh' });
    expect(resolveModel('gpt-5.4-mini-low')).toEqual({ slug: 'gpt-5.4-mini', effort: 'low' });
  });

  it('forgives case and surrounding spaces in a model id', () => {
    expect(resolveModel(' GPT-5.5-High ')).toEqual({ slug: 'gpt-5.5', effort: 'high' });
  });

  it('does not know models it does not serve', () => {
    expect(resolveModel('gpt-4o')).toBeNull();
    expect(resolveModel('gpt-5.5-turbo')).toBeNull();
    expect(resolveModel('')).toBeNull();
    expect(describeModel('gpt-4o')).toBeNull();
  });

  it('describes one model or alias for GET /v1/models/{id}', () => {
    expect(describeModel('gpt-5.5-high')).toMatchObject({ id: 'gpt-5.5-high', object: 'model' });
  });
});

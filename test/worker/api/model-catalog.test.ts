/**
 * The live model catalog end to end: the Worker, the user's real AuthBroker and the fake
 * backend's per-account `GET /codex/models` (ETag, client_version gate, outages).
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import app from '../../../worker/index.ts';
import { MODEL_CATALOG_KEY, type StoredCatalog } from '../../../worker/accounts/model-catalog-store.ts';
import type { FakeModel } from '../../support/fake-codex/types.ts';
import { seedUser, type SeededUser } from '../helpers/seed-user.ts';

const BASE = 'https://usemysub.test';

/** A ModelInfo row as the backend sends it (most fields omitted). */
const model = (slug: string, efforts: string[], extra: Record<string, unknown> = {}): FakeModel => ({
  slug,
  visibility: 'list',
  minimal_client_version: '0.98.0',
  default_reasoning_level: efforts.includes('medium') ? 'medium' : efforts[0],
  supported_reasoning_levels: efforts.map((effort) => ({ effort, description: effort })),
  ...extra,
});

/** Calls the Worker and waits for what it left for after the answer (catalog revalidations included). */
async function call(user: SeededUser, path: string, json?: unknown): Promise<Response> {
  const headers = new Headers({ Authorization: `Bearer ${user.apiKey}` });
  if (json !== undefined) headers.set('Content-Type', 'application/json');
  const request = new Request(BASE + path, { method: json === undefined ? 'GET' : 'POST', headers, body: json === undefined ? null : JSON.stringify(json) });
  const ctx = createExecutionContext();
  const response = await app.fetch(request, env, ctx);
  const settled = new Response(await response.arrayBuffer(), response);
  await waitOnExecutionContext(ctx);
  return settled;
}

async function listed(user: SeededUser): Promise<string[]> {
  const res = await call(user, '/v1/models');
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
}

const ask = (user: SeededUser, model: string, extra: Record<string, unknown> = {}) =>
  call(user, '/v1/responses', { model, input: 'hi', ...extra });

/** Rewrites the stored copy, as if time had passed (the TTL is 5 minutes). */
async function age(user: SeededUser, ms: number): Promise<void> {
  await runInDurableObject(env.AUTH_BROKER.getByName(user.userId), (_broker, state) => {
    const stored = state.storage.kv.get<StoredCatalog>(MODEL_CATALOG_KEY)!;
    state.storage.kv.put(MODEL_CATALOG_KEY, { ...stored, checkedAt: stored.checkedAt - ms });
  });
}

const SIX_MINUTES = 6 * 60_000;

describe('GET /v1/models from the account’s own catalog', () => {
  it('lists what each account may use: plans differ', async () => {
    const plus = await seedUser();
    const pro = await seedUser({ planType: 'pro' });
    await pro.fake.setModels(pro.accountId, { models: [model('gpt-5.5', ['low', 'high']), model('gpt-pro-only', ['high'])] });

    expect(await listed(pro)).toEqual(['gpt-5.5', 'gpt-pro-only', 'gpt-5.5-low', 'gpt-5.5-high', 'gpt-pro-only-high']);
    const plusIds = await listed(plus);
    expect(plusIds).toContain('gpt-5.6-sol');
    expect(plusIds).not.toContain('gpt-pro-only');
    expect(plusIds).not.toContain('codex-auto-review'); // visibility: hide

    const [seen] = await pro.fake.modelsRequests(pro.accountId);
    expect(seen!.url).toBe('/backend-api/codex/models?client_version=0.171.0');
    expect(seen!.headers).toMatchObject({ 'chatgpt-account-id': pro.accountId, version: '0.171.0', originator: 'codex_cli_rs' });
  });

  it('describes one of the account’s models, and 404s another account’s', async () => {
    const user = await seedUser();
    await user.fake.setModels(user.accountId, { models: [model('gpt-5.5', ['low'])] });
    expect(await (await call(user, '/v1/models/gpt-5.5-low')).json()).toMatchObject({ id: 'gpt-5.5-low', object: 'model' });
    const res = await call(user, '/v1/models/gpt-5.6-sol');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
  });

  it('makes effort aliases from each model’s supported_reasoning_levels, max and ultra included', async () => {
    const user = await seedUser();
    await user.fake.setModels(user.accountId, { models: [model('gpt-5.6-sol', ['low', 'max', 'ultra']), model('gpt-5.4-mini', ['medium'])] });
    expect(await listed(user)).toEqual(['gpt-5.6-sol', 'gpt-5.4-mini', 'gpt-5.6-sol-low', 'gpt-5.6-sol-max', 'gpt-5.6-sol-ultra', 'gpt-5.4-mini-medium']);

    expect((await ask(user, 'gpt-5.6-sol-ultra')).status).toBe(200);
    const [sent] = await user.fake.requests(user.accountId);
    expect(sent!.body).toMatchObject({ model: 'gpt-5.6-sol', reasoning: { effort: 'ultra' } });

    const lacking = await ask(user, 'gpt-5.4-mini', { reasoning: { effort: 'max' } });
    expect(lacking.status).toBe(400);
    expect(((await lacking.json()) as { error: { message: string } }).error.message).toMatch(/Supported values: medium\./);
  });
});

describe('keeping the catalog fresh', () => {
  it('answers warm requests without asking the backend again', async () => {
    const user = await seedUser();
    await listed(user);
    for (let i = 0; i < 3; i++) expect((await ask(user, 'gpt-5.5')).status).toBe(200);
    await listed(user);
    expect(await user.fake.modelsRequests(user.accountId)).toHaveLength(1);
  });

  it('reads the catalog once for many simultaneous first requests', async () => {
    const user = await seedUser();
    const answers = await Promise.all(Array.from({ length: 8 }, () => ask(user, 'gpt-5.5')));
    expect(answers.map((res) => res.status)).toEqual(Array(8).fill(200));
    expect(await user.fake.modelsRequests(user.accountId)).toHaveLength(1);
  });

  it('revalidates with If-None-Match after the TTL, and keeps its copy on a 304', async () => {
    const user = await seedUser();
    const before = await listed(user);
    await age(user, SIX_MINUTES);
    expect(await listed(user)).toEqual(before);
    const [first, second] = await user.fake.modelsRequests(user.accountId);
    expect(first!.status).toBe(200);
    expect(second).toMatchObject({ status: 304, headers: { 'if-none-match': expect.stringMatching(/^W\/"/) } });
    // Confirmed fresh again: nothing more is asked.
    await listed(user);
    expect(await user.fake.modelsRequests(user.accountId)).toHaveLength(2);
  });

  it('takes up a changed catalog once the TTL has passed', async () => {
    const user = await seedUser();
    await listed(user);
    await user.fake.setModels(user.accountId, { models: [model('gpt-5.5', ['low']), model('gpt-brand-new', ['high'])] });
    expect(await listed(user)).not.toContain('gpt-brand-new'); // still within the TTL
    await age(user, SIX_MINUTES);
    expect(await listed(user)).toContain('gpt-brand-new');
  });

  it('serves a stale copy to a model request at once and revalidates after the answer', async () => {
    const user = await seedUser();
    await listed(user);
    await user.fake.setModels(user.accountId, { models: [model('gpt-5.5', ['low']), model('gpt-brand-new', ['high'])] });
    await age(user, SIX_MINUTES);
    expect((await ask(user, 'gpt-brand-new')).status).toBe(404); // the stale copy decided
    expect((await ask(user, 'gpt-brand-new')).status).toBe(200); // the revalidated one
  });

  it('reads the catalog again when a model answer names another x-models-etag', async () => {
    const user = await seedUser();
    await listed(user);
    await user.fake.setModels(user.accountId, { models: [model('gpt-5.5', ['low']), model('gpt-brand-new', ['high'])] });
    expect((await ask(user, 'gpt-5.5')).status).toBe(200); // its answer carries the new catalog's ETag
    expect(await user.fake.modelsRequests(user.accountId)).toHaveLength(2);
    expect((await ask(user, 'gpt-brand-new')).status).toBe(200);
  });
});

describe('when the models endpoint fails', () => {
  it('serves the bundled catalog, without asking again on every request', async () => {
    const user = await seedUser();
    await user.fake.setModels(user.accountId, { models: [model('gpt-5.5', ['low']), model('gpt-only-mine', ['high'])], failWith: 503 });
    const ids = await listed(user);
    expect(ids).toEqual(expect.arrayContaining(['gpt-5.6-sol', 'gpt-5.6-sol-ultra', 'gpt-5.5']));
    expect(ids).not.toContain('gpt-only-mine');
    expect((await ask(user, 'gpt-5.5')).status).toBe(200);

    // A failed read is not retried at once: the outage costs one models request, not one per call.
    expect(await user.fake.modelsRequests(user.accountId)).toHaveLength(1);
  });

  it('keeps serving the account’s last good copy rather than the bundled one', async () => {
    const user = await seedUser();
    await user.fake.setModels(user.accountId, { models: [model('gpt-only-mine', ['high'])] });
    await listed(user);
    await user.fake.setModels(user.accountId, { failWith: 500 });
    await age(user, SIX_MINUTES);
    expect(await listed(user)).toEqual(['gpt-only-mine', 'gpt-only-mine-high']);
    expect((await ask(user, 'gpt-only-mine')).status).toBe(200);
  });
});

describe('models refused before any upstream call', () => {
  it('answers a retired model with 404 naming what to use, and sends nothing upstream', async () => {
    const user = await seedUser();
    const res = await ask(user, 'gpt-5.3-codex');
    expect(res.status).toBe(404);
    const { error } = (await res.json()) as { error: { code: string; message: string; param: string } };
    expect(error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(error.message).toMatch(/'gpt-5\.3-codex' is no longer served.*gpt-5\.6-sol/);
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(0);
  });

  it('answers an unknown model, or another plan’s, with 404 on both surfaces', async () => {
    const user = await seedUser();
    for (const id of ['gpt-4o', 'gpt-pro-only']) {
      expect((await ask(user, id)).status).toBe(404);
      const chat = await call(user, '/v1/chat/completions', { model: id, messages: [{ role: 'user', content: 'hi' }] });
      expect(chat.status).toBe(404);
    }
    expect((await user.fake.accountStats(user.accountId)).requests).toBe(0);
  });
});

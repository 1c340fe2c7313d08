/**
 * Opt-in smoke test of a real deployment against the real Codex backend, the one place our fake
 * cannot lie. It spends a little of the key owner's quota, so it runs only when asked:
 *   RUN_CODEX_SMOKE=1 CODEX_PROXY_BASE_URL=https://… CODEX_PROXY_API_KEY=cpk_… npm test
 * CODEX_SMOKE_MODEL picks the model (default: a small one from /v1/models).
 */
import { describe, it } from 'vitest';
import { defineSmokeSuite } from '../support/smoke/checks.ts';

const HOW = 'RUN_CODEX_SMOKE=1 CODEX_PROXY_BASE_URL=https://… CODEX_PROXY_API_KEY=cpk_… npm test';

if (process.env.RUN_CODEX_SMOKE !== '1') {
  const line = `Real-deployment smoke test skipped; run it with ${HOW}`;
  console.info(line);
  it.skip(line);
} else {
  const baseUrl = process.env.CODEX_PROXY_BASE_URL ?? '';
  const apiKey = process.env.CODEX_PROXY_API_KEY ?? '';
  if (!/^https?:\/\//.test(baseUrl) || !apiKey.startsWith('cpk_')) {
    throw new Error(`RUN_CODEX_SMOKE=1 needs CODEX_PROXY_BASE_URL (http[s]://…) and CODEX_PROXY_API_KEY (cpk_…): ${HOW}`);
  }
  // A real model takes seconds per answer, several for the multi-step checks.
  describe(`smoke test of ${new URL(baseUrl).origin}`, { timeout: 120_000 }, () => {
    defineSmokeSuite(() => ({ baseUrl, apiKey, model: process.env.CODEX_SMOKE_MODEL || undefined }));
  });
}

/**
 * The real Codex CLI (`@openai/codex`, its own binary) against the local stack: `codex exec` with a
 * custom `model_providers` entry (`wire_api = "responses"`, our proxy key from `env_key`, base URL
 * the Worker's /v1) in an isolated CODEX_HOME. A plain turn, and a turn at the usage limit, where
 * Codex must stop at once and name the limit and its reset time instead of retrying for hours.
 * And Codex's own reader of the account's limits (`codex app-server`, `account/rateLimits/read`)
 * against our Codex-style usage endpoints.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedFamily } from '../support/fake-codex/index.ts';
import { D1_DATABASE_NAME } from '../../scripts/lib/local-stack.ts';
import { PROJECT_ROOT, run, stopGroup } from '../../scripts/lib/processes.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

const CODEX_BIN = join(PROJECT_ROOT, 'node_modules', '@openai', 'codex', 'bin', 'codex.js');
const KEY_VARIABLE = 'USEMYSUB_API_KEY';
/** Without our fix Codex waits out the reset (an hour here) between retries; this is far above a normal run. */
const GIVE_UP_AFTER_MS = 90_000;

let stack: LocalStack;
let family: CreatedFamily;
let proxyKey: string;
let codexHome: string;
let workDir: string;

function writeConfig(): void {
  writeFileSync(
    join(codexHome, 'config.toml'),
    [
      'model = "gpt-5.5"',
      'model_provider = "usemysub"',
      '',
      '[model_providers.usemysub]',
      'name = "UseMySub"',
      `base_url = "${stack.workerUrl}/v1"`,
      `env_key = "${KEY_VARIABLE}"`,
      'wire_api = "responses"',
      '',
    ].join('\n'),
  );
}

interface CodexRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when we had to stop it (it did not end on its own). */
  killed: boolean;
}

/** `codex exec <prompt>` as a user runs it, with the proxy key in the environment. */
function codexExec(prompt: string, key = proxyKey): Promise<CodexRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CODEX_BIN, 'exec', '--skip-git-repo-check', '--sandbox', 'read-only', prompt], {
      cwd: workDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: codexHome, CODEX_HOME: codexHome, TZ: 'UTC', [KEY_VARIABLE]: key },
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      killed = true;
      void stopGroup(child);
    }, GIVE_UP_AFTER_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

/** How Codex CLI writes a reset time of today: `1:27 PM` (the run is in UTC). */
function clockTime(epochSeconds: number): string {
  const date = new Date(epochSeconds * 1000);
  const hours = date.getUTCHours() % 12 || 12;
  return `${hours}:${String(date.getUTCMinutes()).padStart(2, '0')} ${date.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}

beforeAll(async () => {
  stack = await startLocalStack();
  family = stack.fake.state.createFamily();
  const authFile = join(stack.persistTo, '..', 'auth.json');
  writeFileSync(authFile, JSON.stringify(family.authJson));
  const output = await stack.provision(['--email', 'codex.cli@example.com', '--auth-file', authFile]);
  proxyKey = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
  codexHome = mkdtempSync(join(tmpdir(), 'usemysub-codex-home-'));
  workDir = mkdtempSync(join(tmpdir(), 'usemysub-codex-work-'));
  writeConfig();
}, 180_000);

afterEach(() => {
  stack.fake.state.clearResponseScript(family.accountId);
});

afterAll(async () => {
  await stack?.stop();
  for (const dir of [codexHome, workDir]) if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('Codex CLI with UseMySub as a custom model provider', () => {
  it('answers a plain turn through the Worker and the relay', async () => {
    const before = stack.fake.state.requests(family.accountId).length;
    const run = await codexExec('ping from codex');
    expect(run, run.stderr).toMatchObject({ code: 0, killed: false });
    expect(run.stdout).toContain('Hello from fake Codex: ping from codex');
    const requests = stack.fake.state.requests(family.accountId).slice(before);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ status: 200, body: { model: 'gpt-5.5', store: false, stream: true } });
  }, 120_000);

  it('stops at once at the usage limit and names it with its reset time', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 3600;
    // Enough limits queued for a retry loop to show up in the count.
    stack.fake.state.scriptResponses(family.accountId, Array.from({ length: 6 }, () => ({ kind: 'usage_limit' as const, resetsAt })));
    const before = stack.fake.state.requests(family.accountId).length;
    const run = await codexExec('are we over the limit?');
    expect(run.killed, 'Codex kept retrying instead of stopping').toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/hit your usage limit/i);
    expect(run.stderr).toContain(`try again at ${clockTime(resetsAt)}`);
    expect(run.stderr).not.toMatch(/Reconnecting/);
    expect(stack.fake.state.requests(family.accountId).length - before).toBeLessThanOrEqual(2);
  }, 150_000);

  it('stops at the limit that its retry meets when the limit arrived mid-stream', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 7200;
    stack.fake.state.scriptResponses(family.accountId, [
      { kind: 'error_event', code: 'usage_limit_reached', message: 'The usage limit has been reached' },
      ...Array.from({ length: 5 }, () => ({ kind: 'usage_limit' as const, resetsAt })),
    ]);
    const before = stack.fake.state.requests(family.accountId).length;
    const run = await codexExec('limit mid-stream');
    expect(run.killed).toBe(false);
    expect(run.stderr).toContain(`try again at ${clockTime(resetsAt)}`);
    expect(stack.fake.state.requests(family.accountId).length - before).toBe(2);
  }, 150_000);

  it("stops at once when the key reached its own daily request limit, instead of retrying until midnight", async () => {
    const limited = stack.fake.state.createFamily();
    const authFile = join(stack.persistTo, '..', 'limited-auth.json');
    writeFileSync(authFile, JSON.stringify(limited.authJson));
    const email = 'limited.cli@example.com';
    const key = /cpk_[A-Za-z0-9]+/.exec(await stack.provision(['--email', email, '--auth-file', authFile]))?.[0] ?? '';
    // Set in D1 before the key's first use: the user's AuthBroker reads the limits when it first meets the key.
    await run('npx', ['wrangler', 'd1', 'execute', D1_DATABASE_NAME, '--local', '--persist-to', stack.persistTo, '--command',
      `UPDATE api_keys SET max_requests_per_day = 1 WHERE user_id = (SELECT id FROM users WHERE email = '${email}')`]);
    expect((await codexExec('first of the day', key)).code).toBe(0);
    const refusals = () => stack.logs().split('"event":"api_key_refused"').length - 1;
    const refusedBefore = refusals();
    const run2 = await codexExec('second of the day', key);
    expect(run2.killed, 'Codex kept retrying instead of stopping').toBe(false);
    expect(run2.code).not.toBe(0);
    // The day limit resets at 00:00 UTC (the run is in UTC).
    expect(run2.stderr).toMatch(/hit your usage limit\. Try again at .+ 12:00 AM/);
    expect(run2.stderr).not.toMatch(/Reconnecting/);
    expect(stack.fake.state.requests(limited.accountId)).toHaveLength(1);
    // Asked once and stopped, rather than looping on 429s.
    expect(refusals() - refusedBefore).toBe(1);
  }, 150_000);

  it('reads the response.failed we build for a stream that ended in an error event, and shows its message', async () => {
    // Codex ignores `error` events: without a response.failed it would only say the stream closed early.
    stack.fake.state.scriptResponses(family.accountId, Array.from({ length: 6 }, () => ({
      kind: 'error_event' as const, code: 'server_error', message: 'Something broke upstream.',
    })));
    const run = await codexExec('a failing turn');
    expect(run).toMatchObject({ killed: false });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('The Codex backend failed: Something broke upstream.');
    expect(run.stderr).not.toContain('stream closed before response.completed');
  }, 150_000);
});

/**
 * Asks `codex app-server` for the account's limits (what its status line and `/usage` show) in a
 * CODEX_HOME of its own; resolves with the JSON-RPC result.
 */
function readRateLimits(home: string): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [CODEX_BIN, 'app-server'], {
    detached: true,
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { PATH: process.env.PATH ?? '', HOME: home, CODEX_HOME: home, TZ: 'UTC' },
  });
  const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('codex app-server gave no rate limits')), GIVE_UP_AFTER_MS);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { id?: number; result?: Record<string, unknown>; error?: unknown };
      if (message.id === 0) {
        send({ method: 'initialized' });
        send({ method: 'account/rateLimits/read', id: 1 });
      } else if (message.id === 1) {
        clearTimeout(timer);
        if (message.result) resolve(message.result);
        else reject(new Error(JSON.stringify(message.error)));
      }
    });
    child.once('error', reject);
    send({ method: 'initialize', id: 0, params: { clientInfo: { name: 'usemysub_test', title: 'UseMySub test', version: '0.0.1' } } });
  }).finally(() => stopGroup(child));
}

describe('Codex CLI reading the account limits from our usage endpoints', () => {
  // Codex reads limits only when signed in with ChatGPT, from `chatgpt_base_url`; here that is the
  // Worker, and the "ChatGPT" access token it sends is the proxy key.
  for (const [style, base, path] of [['/backend-api', '/backend-api/', '/backend-api/wham/usage'], ['other', '', '/api/codex/usage']] as const) {
    it(`shows the windows and plan from ${path} (chatgpt_base_url: ${style})`, async () => {
      const other = stack.fake.state.createFamily({ planType: 'pro' });
      const now = Math.floor(Date.now() / 1000);
      stack.fake.state.setUsage(other.accountId, {
        plan_type: 'pro',
        rate_limit: {
          allowed: true, limit_reached: false,
          primary_window: { used_percent: 57, limit_window_seconds: 18_000, reset_after_seconds: 1_800, reset_at: now + 1_800 },
          secondary_window: { used_percent: 81, limit_window_seconds: 604_800, reset_after_seconds: 200_000, reset_at: now + 200_000 },
        },
        credits: { has_credits: false, unlimited: false, balance: '0' },
      });
      const authFile = join(stack.persistTo, '..', `auth-${other.accountId}.json`);
      writeFileSync(authFile, JSON.stringify(other.authJson));
      const output = await stack.provision(['--email', `limits.${other.accountId}@example.com`, '--auth-file', authFile]);
      const key = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
      const home = mkdtempSync(join(tmpdir(), 'usemysub-codex-limits-'));
      try {
        writeFileSync(join(home, 'config.toml'), `chatgpt_base_url = "${stack.workerUrl}${base}"\n`);
        const auth = structuredClone(other.authJson) as { tokens: Record<string, string>; last_refresh?: string };
        writeFileSync(join(home, 'auth.json'), JSON.stringify({ ...auth, tokens: { ...auth.tokens, access_token: key }, last_refresh: new Date().toISOString() }));
        const before = stack.fake.state.usageRequests(other.accountId).length;
        const result = await readRateLimits(home);
        expect(result.rateLimits).toMatchObject({
          planType: 'pro',
          primary: { usedPercent: 57, windowDurationMins: 300, resetsAt: now + 1_800 },
          secondary: { usedPercent: 81, windowDurationMins: 10_080, resetsAt: now + 200_000 },
          credits: { hasCredits: false, unlimited: false },
        });
        // The Worker answered on the path Codex chose, reading the backend once through the relay.
        expect(stack.logs()).toContain(`GET ${path} 200`);
        expect(stack.fake.state.usageRequests(other.accountId).length - before).toBe(1);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    }, 120_000);
  }
});

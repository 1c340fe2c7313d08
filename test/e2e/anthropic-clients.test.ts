/**
 * The Anthropic Messages surface as real clients use it, end to end through wrangler dev → relay
 * → fake Codex backend: the official `@anthropic-ai/sdk` (create, stream, a tool round trip with
 * thinking, errors) and Claude Code itself (`claude -p`, its own binary), pointed at the stack with
 * ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN. Claude Code runs with its non-essential traffic
 * switched off and a proxy that refuses (and counts) anything it would send elsewhere.
 */
import Anthropic from '@anthropic-ai/sdk';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedFamily, ResponseStep } from '../support/fake-codex/index.ts';
import { PROJECT_ROOT, stopGroup } from '../../scripts/lib/processes.ts';
import { startLocalStack, type LocalStack } from './local-stack.ts';

const CLAUDE_BIN = join(PROJECT_ROOT, 'node_modules', '@anthropic-ai', 'claude-code', 'bin', 'claude.exe');
const GIVE_UP_AFTER_MS = 90_000;

/**
 * What keeps Claude Code to the one host it is given: no telemetry, error reports, auto-update,
 * feature-flag fetches or other non-essential calls (the first variable implies most of the rest).
 */
const CLAUDE_QUIET_ENV = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_AUTOUPDATER: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
  DISABLE_BUG_COMMAND: '1',
  CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
};

let stack: LocalStack;
let family: CreatedFamily;
let proxyKey: string;
let client: Anthropic;
let home: string;
let workDir: string;
let trap: Server;
/** Every request Claude Code tried to send anywhere but the stack. */
const escaped: string[] = [];

function script(...steps: ResponseStep[]): void {
  stack.fake.state.scriptResponses(family.accountId, steps);
}

function upstreamSince(before: number): Record<string, any>[] {
  return stack.fake.state.requests(family.accountId).slice(before).map((r) => r.body as Record<string, any>);
}

const requestCount = () => stack.fake.state.requests(family.accountId).length;

/** A forward proxy that refuses everything and writes down where it was asked to go. */
function startTrap(): Promise<Server> {
  const server = createServer((req, res) => {
    escaped.push(`${req.method} ${req.url}`);
    res.writeHead(403).end();
  });
  server.on('connect', (req, socket) => {
    escaped.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface ClaudeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

/** `claude -p <prompt>` as a user runs it against UseMySub. */
function claude(args: string[]): Promise<ClaudeRun> {
  const proxy = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  return new Promise((resolve, reject) => {
    const child = spawn(CLAUDE_BIN, args, {
      cwd: workDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '', HOME: home, TZ: 'UTC',
        ANTHROPIC_BASE_URL: stack.workerUrl, ANTHROPIC_AUTH_TOKEN: proxyKey,
        HTTPS_PROXY: proxy, HTTP_PROXY: proxy, NO_PROXY: '127.0.0.1,localhost',
        ...CLAUDE_QUIET_ENV,
      },
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

beforeAll(async () => {
  stack = await startLocalStack();
  family = stack.fake.state.createFamily();
  const authFile = join(stack.persistTo, '..', 'auth.json');
  writeFileSync(authFile, JSON.stringify(family.authJson));
  const output = await stack.provision(['--email', 'claude@example.com', '--auth-file', authFile]);
  proxyKey = /cpk_[A-Za-z0-9]+/.exec(output)?.[0] ?? '';
  client = new Anthropic({ apiKey: proxyKey, baseURL: stack.workerUrl, maxRetries: 0 });
  home = mkdtempSync(join(tmpdir(), 'usemysub-claude-home-'));
  workDir = mkdtempSync(join(tmpdir(), 'usemysub-claude-work-'));
  trap = await startTrap();
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => (trap ? trap.close(resolve) : resolve(null)));
  for (const dir of [home, workDir]) if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const weatherTool = {
  name: 'get_weather',
  description: 'The weather in a city now',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('the Anthropic SDK', () => {
  it('gets a message from messages.create, with usage', async () => {
    script({ kind: 'ok', text: 'Hello, Claude client.' });
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }] });
    expect(message).toMatchObject({ role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'Hello, Claude client.' }], stop_reason: 'end_turn' });
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('streams text with messages.stream and assembles the final message', async () => {
    script({ kind: 'ok', text: 'Streamed to the SDK in pieces.', chunkSize: 5 });
    const pieces: string[] = [];
    const stream = client.messages.stream({ model: 'claude-opus-4-1', max_tokens: 1024, messages: [{ role: 'user', content: 'stream it' }] });
    stream.on('text', (text) => pieces.push(text));
    const message = await stream.finalMessage();
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join('')).toBe('Streamed to the SDK in pieces.');
    expect(message).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'Streamed to the SDK in pieces.' }] });
  });

  it('does a streamed tool round trip with thinking, the reasoning handed back through the signature', async () => {
    script(
      { kind: 'ok', reasoningSummary: 'The user wants the weather; call the tool.', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', callId: 'call_w1' }] },
      { kind: 'ok', text: 'It is 18°C in Paris.' },
    );
    const before = requestCount();
    const params = {
      model: 'claude-sonnet-4-5', max_tokens: 16_000, tools: [weatherTool],
      thinking: { type: 'enabled' as const, budget_tokens: 8_000 },
    };
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const thinking: string[] = [];
    const stream = client.messages.stream({ ...params, messages });
    stream.on('thinking', (delta) => thinking.push(delta));
    const first = await stream.finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    expect(thinking.join('')).toBe('The user wants the weather; call the tool.');
    const [reasoning, call] = first.content;
    expect(reasoning).toMatchObject({ type: 'thinking', signature: expect.stringMatching(/^usemysub\.v1\./) });
    expect(call).toEqual({ type: 'tool_use', id: 'call_w1', name: 'get_weather', input: { city: 'Paris' } });

    messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_w1', content: '18°C' }] });
    const second = await client.messages.create({ ...params, messages });
    expect(second.content).toEqual([{ type: 'text', text: 'It is 18°C in Paris.' }]);
    const [out, back] = upstreamSince(before);
    expect(out).toMatchObject({ model: 'gpt-5.5', reasoning: { effort: 'medium', summary: 'auto' } });
    const encrypted = (reasoning as Anthropic.ThinkingBlock).signature.slice('usemysub.v1.'.length);
    expect(back!.input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'The user wants the weather; call the tool.' }], encrypted_content: encrypted },
      { type: 'function_call', call_id: 'call_w1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_w1', output: '18°C' },
    ]);
  });

  it('raises the SDK’s RateLimitError at the usage limit, with retry-after, without retrying', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 900;
    script({ kind: 'usage_limit', resetsAt }, { kind: 'usage_limit', resetsAt });
    const before = requestCount();
    const retrying = new Anthropic({ apiKey: proxyKey, baseURL: stack.workerUrl, maxRetries: 2 });
    const err = await retrying.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'limit?' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const rateLimit = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(Number(rateLimit.headers.get('retry-after'))).toBeGreaterThan(800);
    expect(rateLimit.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(requestCount() - before).toBe(1);
    stack.fake.state.clearResponseScript(family.accountId);
  });

  it('raises AuthenticationError for a wrong key, and counts tokens', async () => {
    const stranger = new Anthropic({ apiKey: 'cpk_not_a_real_key', baseURL: stack.workerUrl, maxRetries: 0 });
    await expect(stranger.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'count these words please' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
  });
});

describe('Claude Code', () => {
  it('answers `claude -p` through the Worker and the relay, and reaches nothing else', async () => {
    const before = requestCount();
    const run = await claude(['-p', 'ping from claude code']);
    expect(run, run.stderr).toMatchObject({ code: 0, killed: false });
    expect(run.stdout).toContain('ping from claude code');
    const sent = upstreamSince(before);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    // Claude Code's default model is an Opus: the default map serves it with gpt-5.5 at high effort.
    expect(sent.at(-1)).toMatchObject({ model: 'gpt-5.5', reasoning: { effort: 'high' }, store: false, stream: true });
    expect(escaped).toEqual([]);
  }, 120_000);

  it('runs a turn that uses a tool: the call goes to Claude Code, its result comes back to the model', async () => {
    writeFileSync(join(workDir, 'note.txt'), 'The secret word is heliotrope.\n');
    script(
      { kind: 'ok', reasoningSummary: 'Read the note first.', toolCalls: [{ name: 'Read', arguments: JSON.stringify({ file_path: join(workDir, 'note.txt') }), callId: 'call_read1' }] },
      { kind: 'ok', text: 'The note says the secret word is heliotrope.' },
    );
    const before = requestCount();
    const run = await claude(['-p', 'What does note.txt say?', '--allowedTools', 'Read']);
    expect(run, run.stderr).toMatchObject({ code: 0, killed: false });
    expect(run.stdout).toContain('The note says the secret word is heliotrope.');
    const sent = upstreamSince(before);
    const input = sent.at(-1)!.input as Record<string, unknown>[];
    const output = input.find((item) => item.type === 'function_call_output');
    expect(output).toMatchObject({ call_id: 'call_read1' });
    expect(JSON.stringify(output!.output)).toContain('heliotrope');
    // Claude Code handed the thinking block back, so the model got its encrypted reasoning again.
    expect(input.find((item) => item.type === 'reasoning')).toMatchObject({ encrypted_content: expect.stringMatching(/\S/) });
    expect(escaped).toEqual([]);
  }, 120_000);

  it('stops at the usage limit and shows our message instead of retrying', async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 3600;
    script(...Array.from({ length: 8 }, () => ({ kind: 'usage_limit' as const, resetsAt })));
    const before = requestCount();
    const run = await claude(['-p', 'are we over the limit?']);
    stack.fake.state.clearResponseScript(family.accountId);
    expect(run.killed, 'Claude Code kept retrying').toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('You have reached the Codex usage limit of your ChatGPT subscription');
    expect(run.stdout).toContain(new Date(resetsAt * 1000).toISOString());
    expect(requestCount() - before).toBe(1);
  }, 150_000);
});

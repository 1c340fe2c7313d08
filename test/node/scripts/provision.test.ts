/** The operator's first contact: provision's answers to bad input, and its refusal to share a ChatGPT account. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyLocalMigrations } from '../../../scripts/lib/local-stack.ts';
import { PROJECT_ROOT } from '../../../scripts/lib/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'usemysub-provision-'));
const envFile = join(dir, 'vars');
writeFileSync(envFile, `TOKEN_ENCRYPTION_KEY=${'ab'.repeat(32)}\nAPI_KEY_PEPPER=pepper\n`);

function provision(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, ['scripts/provision.ts', '--persist-to', join(dir, 'state'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, TOKEN_ENCRYPTION_KEY: '', API_KEY_PEPPER: '', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function authFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('npm run provision explains what is wrong with its input', () => {
  it('asks for a valid email', () => {
    const result = provision(['--email', 'not-an-email', '--auth-file', authFile('a.json', '{}'), '--dev-vars', envFile]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--email is missing or not a valid email address/);
  });

  it('names a missing auth file and says how to make one', () => {
    const result = provision(['--email', 'a@example.com', '--auth-file', join(dir, 'missing.json'), '--dev-vars', envFile]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Auth file not found: .*missing\.json/);
    expect(result.stderr).toMatch(/codex login/);
  });

  it('rejects a file that is not JSON', () => {
    const result = provision(['--email', 'a@example.com', '--auth-file', authFile('bad.json', '{"tokens":'), '--dev-vars', envFile]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/JSON/);
  });

  it('rejects an API-key-only login and never prints the key', () => {
    const file = authFile('apikey.json', JSON.stringify({ OPENAI_API_KEY: 'sk-proj-secret-value' }));
    const result = provision(['--email', 'a@example.com', '--auth-file', file, '--dev-vars', envFile]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/API-key login/);
    expect(result.stderr + result.stdout).not.toContain('sk-proj-secret-value');
  });

  it('names the secrets it needs when neither the environment nor the env file has them', () => {
    const file = authFile('ok.json', JSON.stringify({ tokens: { access_token: 'a', refresh_token: 'r', account_id: 'acc' } }));
    const result = provision(['--email', 'a@example.com', '--auth-file', file, '--dev-vars', join(dir, 'none')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/TOKEN_ENCRYPTION_KEY and API_KEY_PEPPER not set/);
  });

  it('rejects a malformed TOKEN_ENCRYPTION_KEY by name without echoing it', () => {
    const file = authFile('ok2.json', JSON.stringify({ tokens: { access_token: 'a', refresh_token: 'r', account_id: 'acc' } }));
    const result = provision(['--email', 'a@example.com', '--auth-file', file, '--dev-vars', join(dir, 'none')], {
      TOKEN_ENCRYPTION_KEY: 'too-short-key-value',
      API_KEY_PEPPER: 'pepper',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/TOKEN_ENCRYPTION_KEY/);
    expect(result.stderr).not.toContain('too-short-key-value');
  });
});

describe('npm run provision links one ChatGPT account to one user', () => {
  const login = (accountId: string) => JSON.stringify({ tokens: { access_token: 'at', refresh_token: 'rt', account_id: accountId } });

  it('refuses an account another user has linked, and re-links it to the same user', { timeout: 180_000 }, async () => {
    await applyLocalMigrations(join(dir, 'state'));
    const file = authFile('shared.json', login('acct-shared'));
    const first = provision(['--email', 'first@example.com', '--auth-file', file, '--dev-vars', envFile]);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/Created first@example\.com .*acct-shared linked/);

    const second = provision(['--email', 'second@example.com', '--auth-file', file, '--dev-vars', envFile]);
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(/ChatGPT account acct-shared is already linked to first@example\.com\. One ChatGPT account can serve only one user/);
    expect(second.stdout).not.toMatch(/cpk_/);

    const again = provision(['--email', 'first@example.com', '--auth-file', file, '--dev-vars', envFile]);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/Updated first@example\.com/);
  });
});

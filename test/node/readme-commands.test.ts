/**
 * The README's commands work as written on a fresh clone: every `npm run` names a script, no
 * command starts a .ts file with the machine's own `node` (Node 20 cannot run it; npm scripts
 * run the pinned Node 22), and the fake backend's script starts and writes its auth.json.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, spawnGroup, stopGroup } from '../../scripts/lib/processes.ts';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const scripts = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Every line of the README's sh code blocks. */
function shellLines(): string[] {
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) => (block[1] ?? '').split('\n')).map((line) => line.trim());
}

describe('the README commands', () => {
  it('name only npm scripts that exist', () => {
    const named = [...readme.matchAll(/npm run ([a-z][\w:-]*)/g)].map((match) => match[1] ?? '');
    expect(named).toContain('fake-codex');
    expect(named.filter((name) => !(name in scripts))).toEqual([]);
  });

  it('never run a TypeScript file with the machine’s node', () => {
    expect(shellLines().filter((line) => /(^|[\s=;&|])node\s+\S+\.ts\b/.test(line))).toEqual([]);
  });

  it('start the fake backend with npm run fake-codex, which writes an auth.json for provision', async () => {
    const authFile = join(mkdtempSync(join(tmpdir(), 'usemysub-fake-')), 'auth.json');
    const child = spawnGroup('npm', ['run', '-s', 'fake-codex', '--', '--port', '0', '--auth-json', authFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk) => {
          output += chunk;
          if (output.includes(`wrote ${authFile}`)) resolve();
        });
        child.stderr?.on('data', (chunk) => (output += chunk));
        child.once('exit', (code) => reject(new Error(`npm run fake-codex exited with ${code}:\n${output}`)));
      });
      const url = /fake-codex listening on (\S+)/.exec(output)?.[1] ?? '';
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const auth = JSON.parse(readFileSync(authFile, 'utf8')) as { tokens?: { refresh_token?: string } };
      expect(auth.tokens?.refresh_token).toBeTruthy();
    } finally {
      await stopGroup(child);
    }
  }, 60_000);
});

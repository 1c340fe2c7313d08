import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, run } from '../../scripts/lib/processes.ts';

describe('npm run deploy:dry-run', () => {
  it('builds the Worker bundle with no Cloudflare credentials and no Docker, skipping the image on purpose', async () => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      WRANGLER_SEND_METRICS: 'false',
      // Any attempt to reach a Docker engine would fail loudly.
      WRANGLER_DOCKER_BIN: '/nonexistent/docker',
      WRANGLER_DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    };
    const { stdout } = await run('npm', ['run', '-s', 'deploy:dry-run'], { env });
    expect(stdout).toMatch(/--dry-run: exiting now/);
    expect(stdout).toMatch(/env\.CODEX_RELAY \(CodexRelay\)\s+Durable Object/);
    expect(stdout).toMatch(/codexrelay \(.*Dockerfile\)/);
    const bundle = `${PROJECT_ROOT}/dist/index.js`;
    expect(existsSync(bundle)).toBe(true);
    expect(readFileSync(bundle, 'utf8')).toMatch(/CodexRelay = class extends Container/);
  }, 120_000);
});

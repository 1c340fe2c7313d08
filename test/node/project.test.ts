import { describe, expect, it } from 'vitest';
import { run } from '../../scripts/lib/processes.ts';

describe('the repository stays buildable as committed', () => {
  it('has types/worker-configuration.d.ts generated from the current wrangler.jsonc (npm run cf-types)', async () => {
    const { stdout } = await run('npm', ['run', '-s', 'cf-types', '--', '--check']);
    expect(stdout).toMatch(/up to date/);
  }, 60_000);

  it('typechecks strictly, Worker and Node parts (npm run typecheck)', async () => {
    await expect(run('npm', ['run', '-s', 'typecheck'])).resolves.toBeDefined();
  }, 120_000);
});

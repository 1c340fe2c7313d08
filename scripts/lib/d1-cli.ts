/** Runs SQL against the local (or remote) D1 database through wrangler, as operators would. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { D1_DATABASE_NAME } from './local-stack.ts';
import { run } from './processes.ts';

export type D1Target = { remote: true } | { remote: false; persistTo: string | undefined };

function targetArgs(target: D1Target): string[] {
  if (target.remote) return ['--remote'];
  return target.persistTo ? ['--local', '--persist-to', target.persistTo] : ['--local'];
}

/** Runs one read query and returns its rows. */
export async function d1Query<Row>(target: D1Target, sql: string): Promise<Row[]> {
  const { stdout } = await run('npx', ['wrangler', 'd1', 'execute', D1_DATABASE_NAME, ...targetArgs(target), '--json', '--command', sql]);
  const parsed = JSON.parse(stdout) as { results: Row[] }[];
  return parsed.flatMap((entry) => entry.results);
}

/**
 * Runs statements from a private temporary file (never on the command line, where other
 * users of the machine could read them from the process list), then deletes it.
 */
export async function d1ExecuteStatements(target: D1Target, statements: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'usemysub-sql-'));
  const file = join(dir, 'statements.sql');
  try {
    writeFileSync(file, statements.map((statement) => `${statement};\n`).join(''), { mode: 0o600 });
    await run('npx', ['wrangler', 'd1', 'execute', D1_DATABASE_NAME, ...targetArgs(target), '--yes', '--file', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

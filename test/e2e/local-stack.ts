/**
 * The whole local stack for end-to-end tests, started the way `npm start` starts it: the fake
 * Codex backend as upstream, the relay process, and `wrangler dev`, all on free loopback
 * ports with a throwaway D1 directory and .dev.vars. Logs of every process are captured.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeCodex, type FakeCodex } from '../support/fake-codex/index.ts';
import { freshDevVars, readDevVars, type DevVars } from '../../scripts/lib/dev-vars.ts';
import { D1_DATABASE_NAME, applyLocalMigrations, startRelayProcess, startWorkerProcess } from '../../scripts/lib/local-stack.ts';
import { freePort, run, stopGroup, waitForHttp } from '../../scripts/lib/processes.ts';

export interface LocalStack {
  workerUrl: string;
  /** The relay process the Worker sends upstream calls through. */
  relayUrl: string;
  /** wrangler dev's inspector (Chrome DevTools protocol), for CPU profiles. */
  inspectorPort: number;
  fake: FakeCodex;
  devVars: DevVars;
  /** Where wrangler keeps this stack's D1 and Durable Object storage. */
  persistTo: string;
  /** Everything the relay and wrangler dev (workerd included) printed so far. */
  logs(): string;
  /** Runs `npm run provision` against this stack's database; returns its stdout. */
  provision(args: string[]): Promise<string>;
  /** Every row of every table, as JSON text. */
  dumpDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export async function startLocalStack(): Promise<LocalStack> {
  const dir = mkdtempSync(join(tmpdir(), 'usemysub-e2e-'));
  const persistTo = join(dir, 'state');
  const envFile = join(dir, '.dev.vars');
  const [workerPort, relayPort, inspectorPort] = [await freePort(), await freePort(), await freePort()];
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  writeFileSync(envFile, freshDevVars(workerUrl), { mode: 0o600 });
  const devVars = readDevVars(envFile);

  const fake = await startFakeCodex();
  await applyLocalMigrations(persistTo);

  let output = '';
  const capture = (child: ChildProcess) => {
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    return child;
  };
  const children = [
    capture(startRelayProcess({
      port: relayPort,
      relayToken: devVars.UPSTREAM_RELAY_TOKEN ?? '',
      codexBackendUrl: `${fake.url}/backend-api`,
      openaiAuthUrl: fake.url,
      stdio: 'pipe',
    })),
    capture(startWorkerProcess({
      port: workerPort,
      inspectorPort,
      persistTo,
      envFile,
      relayUrl: `http://127.0.0.1:${relayPort}`,
      publicOrigin: workerUrl,
      stdio: 'pipe',
    })),
  ];
  const stop = async () => {
    await Promise.all(children.map((child) => stopGroup(child)));
    await fake.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${relayPort}/healthz`, 30_000, children[0]);
    await waitForHttp(`${workerUrl}/healthz`, 120_000, children[1]);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output}`);
  }

  return {
    workerUrl,
    relayUrl: `http://127.0.0.1:${relayPort}`,
    inspectorPort,
    fake,
    devVars,
    persistTo,
    logs: () => output,
    provision: async (args) =>
      (await run(process.execPath, ['scripts/provision.ts', '--persist-to', persistTo, '--dev-vars', envFile, ...args])).stdout,
    dumpDatabase: async () => {
      const tables = ['users', 'api_keys', 'codex_tokens'];
      const { stdout } = await run('npx', ['wrangler', 'd1', 'execute', D1_DATABASE_NAME, '--local', '--persist-to', persistTo,
        '--json', '--command', tables.map((table) => `SELECT '${table}' AS tbl, * FROM ${table}`).join('; ')]);
      return stdout;
    },
    stop,
  };
}

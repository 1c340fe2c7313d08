/**
 * The pieces of the local stack — migrations, the relay process and `wrangler dev` — shared
 * by `npm start` and the end-to-end tests, so both run exactly the same way.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { PROJECT_ROOT, run, spawnGroup } from './processes.ts';

export const D1_DATABASE_NAME = 'codex-proxy-db';

export async function applyLocalMigrations(persistTo: string): Promise<void> {
  await run('npx', ['wrangler', 'd1', 'migrations', 'apply', D1_DATABASE_NAME, '--local', '--persist-to', persistTo]);
}

export interface RelayProcessOptions {
  port: number;
  relayToken: string;
  codexBackendUrl?: string | undefined;
  openaiAuthUrl?: string | undefined;
  stdio?: StdioOptions;
}

/** The relay as `npm run relay` starts it, on loopback. */
export function startRelayProcess(options: RelayProcessOptions): ChildProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(options.port),
    UPSTREAM_RELAY_TOKEN: options.relayToken,
  };
  if (options.codexBackendUrl) env.CODEX_BACKEND_URL = options.codexBackendUrl;
  if (options.openaiAuthUrl) env.OPENAI_AUTH_URL = options.openaiAuthUrl;
  return spawnGroup(process.execPath, ['relay/server.ts'], { env, stdio: options.stdio ?? 'inherit' });
}

export interface WorkerProcessOptions {
  port: number;
  inspectorPort?: number;
  persistTo: string;
  envFile: string;
  relayUrl: string;
  publicOrigin: string;
  stdio?: StdioOptions;
}

/** `wrangler dev` with the loopback relay allowed (dev only) and no containers. */
export function startWorkerProcess(options: WorkerProcessOptions): ChildProcess {
  const args = [
    'wrangler', 'dev',
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    '--persist-to', options.persistTo,
    '--env-file', options.envFile,
    '--var', `CODEX_RELAY_URL:${options.relayUrl}`,
    '--var', 'ALLOW_LOOPBACK_RELAY:true',
    '--var', `PUBLIC_APP_ORIGIN:${options.publicOrigin}`,
    '--show-interactive-dev-session=false',
  ];
  if (options.inspectorPort !== undefined) args.push('--inspector-port', String(options.inspectorPort));
  // The Worker never reads request.cf, so wrangler need not fetch a real one from Cloudflare (offline
  // that fetch fails after 3 s with a warning); CLOUDFLARE_CF_FETCH_ENABLED=true brings it back.
  // A test runner's NODE_ENV=test is not passed on (it changes miniflare's defaults), so the
  // end-to-end tests run wrangler exactly as `npm start` does.
  const { NODE_ENV: _runnerMode, ...inherited } = process.env;
  const env = { ...inherited, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false' };
  return spawnGroup('npx', args, { cwd: PROJECT_ROOT, stdio: options.stdio ?? 'inherit', env });
}

/**
 * `npm start`: the whole stack on this machine with no Cloudflare account and no Docker —
 * local D1 with migrations, dev secrets in .dev.vars, the relay on loopback, wrangler dev.
 */
import { join } from 'node:path';
import { ensureDevVars } from './lib/dev-vars.ts';
import { applyLocalMigrations, startRelayProcess, startWorkerProcess } from './lib/local-stack.ts';
import { PROJECT_ROOT, stopGroup, waitForHttp } from './lib/processes.ts';

const workerPort = Number(process.env.WORKER_PORT ?? 8787);
const relayPort = Number(process.env.RELAY_PORT ?? 8788);
const workerOrigin = `http://localhost:${workerPort}`;
const relayUrl = `http://127.0.0.1:${relayPort}`;
const persistTo = join(PROJECT_ROOT, '.wrangler', 'state');
const devVarsPath = join(PROJECT_ROOT, '.dev.vars');

const { vars, created } = ensureDevVars(devVarsPath, workerOrigin);
console.log(created ? 'Created .dev.vars with fresh random secrets.' : 'Using the existing .dev.vars.');

console.log('Applying D1 migrations to the local database…');
await applyLocalMigrations(persistTo);

const relay = startRelayProcess({
  port: relayPort,
  relayToken: vars.UPSTREAM_RELAY_TOKEN ?? '',
  codexBackendUrl: process.env.CODEX_BACKEND_URL,
  openaiAuthUrl: process.env.OPENAI_AUTH_URL,
});
const worker = startWorkerProcess({ port: workerPort, persistTo, envFile: devVarsPath, relayUrl, publicOrigin: workerOrigin });

let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.all([stopGroup(worker), stopGroup(relay)]);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
for (const [name, child] of [['relay', relay], ['wrangler dev', worker]] as const) {
  child.on('exit', (code) => {
    if (stopping) return;
    console.error(`${name} exited (${code ?? 'signal'}); stopping the stack.`);
    void stopAll(1);
  });
}

await waitForHttp(`${relayUrl}/healthz`, 30_000, relay);
await waitForHttp(`http://127.0.0.1:${workerPort}/healthz`, 120_000, worker);
console.log(`
UseMySub is running locally.
  API base URL:  ${workerOrigin}/v1
  Sign in:       ${workerOrigin}/login (the sign-in link is shown on the page)
  Relay:         ${relayUrl} (upstream ${process.env.CODEX_BACKEND_URL ?? 'https://chatgpt.com/backend-api'})
  Local D1:      ${persistTo}
Or create a user and a key from a Codex CLI login:  npm run provision -- --email you@example.com --auth-file ~/.codex/auth.json
Press Ctrl-C to stop.`);

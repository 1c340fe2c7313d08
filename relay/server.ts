/**
 * `npm run relay`: starts the relay from its environment (as the container and Fly do) and shuts it
 * down gracefully on SIGTERM/SIGINT.
 */
import { isIP } from 'node:net';
import { buildRelay } from './app.ts';
import { loadRelayConfig, type RelayConfig } from './config.ts';

/** Extra time after the grace period for cut connections to unwind before the process gives up. */
const HARD_EXIT_AFTER_GRACE_MS = 5_000;

let config: RelayConfig;
try {
  config = loadRelayConfig();
} catch (error) {
  console.error(`relay: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const app = buildRelay(config);
try {
  await app.listen({ host: config.host, port: config.port });
} catch (error) {
  console.error(`relay: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  process.exit(1);
}

const address = app.server.address();
const port = typeof address === 'object' && address !== null ? address.port : config.port;
const host = isIP(config.host) === 6 ? `[${config.host}]` : config.host;
console.log(`relay listening on http://${host}:${port}`);
if (config.relayToken === undefined) {
  console.warn('relay: UPSTREAM_RELAY_TOKEN is not set; requests are accepted without X-Relay-Token');
}

let stopping = false;

async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    console.error(`relay: second ${signal}, exiting now`);
    process.exit(1);
  }
  stopping = true;
  console.log(`relay: ${signal} received, letting in-flight requests finish (up to ${config.shutdownGraceMs} ms)`);
  // New connections stop at once (app.close); open streams get the grace period, then are cut.
  const cut = setTimeout(() => {
    console.warn('relay: grace period over, closing remaining connections');
    app.server.closeAllConnections();
  }, config.shutdownGraceMs);
  const giveUp = setTimeout(() => process.exit(1), config.shutdownGraceMs + HARD_EXIT_AFTER_GRACE_MS);
  giveUp.unref();
  try {
    await app.close();
    clearTimeout(cut);
    process.exit(0);
  } catch (error) {
    console.error(`relay: error while closing: ${(error as Error).message}`);
    process.exit(1);
  }
}

process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));

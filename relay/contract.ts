/**
 * What the Worker, the container class and the deploy files must agree on about the relay.
 * No imports: the Worker bundle, the relay and the Node tests all read this one module.
 */

/** The port the relay listens on in the image (Dockerfile, fly.toml, docker-compose.yml, CodexRelay). */
export const RELAY_PORT = 8788;

/**
 * Relay container instances the Worker spreads requests over (README, "Egress"); the `containers`
 * entry in wrangler.jsonc must allow at least this many instances.
 */
export const CONTAINER_POOL_SIZE = 3;

/** Answers 200 without a token while the relay serves, 503 once it is shutting down. */
export const RELAY_HEALTH_PATH = '/healthz';

/**
 * The relay's `Via` entry (RFC 9110 §7.6.3), added to every response it sends. A response
 * without it did not come from the relay: the Worker's container class uses this to tell the
 * relay's answers from the Containers runtime's own (cold start failed, instance limit reached).
 */
export const RELAY_VIA = '1.1 usemysub-relay';

/** True when a `Via` header value lists the relay. */
export function servedByRelay(via: string | null): boolean {
  if (via === null) return false;
  return via.split(',').some((entry) => entry.trim() === RELAY_VIA);
}

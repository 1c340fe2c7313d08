/**
 * The relay as a Cloudflare Container: the image from ./Dockerfile, bound as CODEX_RELAY.
 * Which instance serves a request is decided in egress.ts (README, "Egress").
 */
import { Container } from '@cloudflare/containers';
import { RELAY_HEALTH_PATH, RELAY_PORT, servedByRelay } from '../../relay/contract.ts';
import { relayError } from '../../relay/errors.ts';
import { CODEX_BACKEND_URL, OPENAI_AUTH_URL } from './egress.ts';

/**
 * Rollouts send SIGTERM to an active instance and SIGKILL 15 minutes later; streams in flight get
 * 10 of them to finish (new requests meanwhile get 503 and go to another instance).
 */
const CONTAINER_SHUTDOWN_GRACE_MS = 10 * 60_000;

/**
 * The relay's environment inside the container. The upstream bases come from egress.ts, so the
 * container and the Worker's direct path can never disagree. The relay refuses to listen on
 * 0.0.0.0 without a token (or with one under 32 characters), so a missing secret fails closed.
 */
export function relayContainerEnv(env: Pick<Env, 'UPSTREAM_RELAY_TOKEN'>): Record<string, string> {
  return {
    HOST: '0.0.0.0',
    PORT: String(RELAY_PORT),
    UPSTREAM_RELAY_TOKEN: env.UPSTREAM_RELAY_TOKEN ?? '',
    CODEX_BACKEND_URL,
    OPENAI_AUTH_URL,
    RELAY_SHUTDOWN_GRACE_MS: String(CONTAINER_SHUTDOWN_GRACE_MS),
  };
}

export class CodexRelay extends Container<Env> {
  override defaultPort = RELAY_PORT;
  // Long enough that a user's next request usually finds the instance warm (a cold start takes seconds).
  override sleepAfter = '10m';
  // Readiness probes ask /healthz, which the relay answers without a token.
  override pingEndpoint = `container${RELAY_HEALTH_PATH}`;

  constructor(ctx: ConstructorParameters<typeof Container>[0], env: Env) {
    super(ctx, env);
    this.envVars = relayContainerEnv(env);
  }

  /** Forwards to the relay; see relayAnswerOrUnavailable for what happens when it is not the relay that answers. */
  override async fetch(request: Request): Promise<Response> {
    return relayAnswerOrUnavailable(() => super.fetch(request));
  }
}

/**
 * The relay's answer, or the relay's own `relay_unavailable` error when the Containers runtime
 * answered instead (no instance free, the start failed, the process died): passed on as is, a
 * runtime 429 or 500 would look like ChatGPT's.
 */
export async function relayAnswerOrUnavailable(send: () => Promise<Response>): Promise<Response> {
  let response: Response;
  try {
    response = await send();
  } catch (error) {
    return unavailable({ thrown: error instanceof Error ? error.message : String(error) });
  }
  if (servedByRelay(response.headers.get('via'))) return response;
  const text = await response.text().catch(() => '');
  return unavailable({ status: response.status, runtime: text.slice(0, 200) });
}

function unavailable(detail: Record<string, unknown>): Response {
  console.error(JSON.stringify({ event: 'relay_container_unavailable', ...detail }));
  const { status, headers, body } = relayError('relay_unavailable');
  return Response.json(body, { status, headers });
}

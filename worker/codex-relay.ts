/** The relay as a Cloudflare Container: the image from ./Dockerfile, bound as CODEX_RELAY. */
import { Container } from '@cloudflare/containers';

export const RELAY_CONTAINER_PORT = 8788;

export class CodexRelay extends Container<Env> {
  override defaultPort = RELAY_CONTAINER_PORT;
  override sleepAfter = '10m';

  constructor(ctx: ConstructorParameters<typeof Container>[0], env: Env) {
    super(ctx, env);
    // The relay refuses to listen on 0.0.0.0 without a token, so a missing secret fails closed.
    this.envVars = {
      HOST: '0.0.0.0',
      PORT: String(RELAY_CONTAINER_PORT),
      UPSTREAM_RELAY_TOKEN: env.UPSTREAM_RELAY_TOKEN ?? '',
    };
  }
}

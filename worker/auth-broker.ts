import { DurableObject } from 'cloudflare:workers';
export class AuthBroker extends DurableObject<Env> {
  async ping(): Promise<string> { return 'pong'; }
}

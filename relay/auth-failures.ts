/**
 * Caps how fast one client can guess X-Relay-Token. Wrong tokens are counted per client in fixed
 * windows; once a client used up its allowance its further wrong tokens get 429 for the rest of the
 * window. The right token is compared first and always accepted (app.ts): client addresses are
 * shared, so this limits guessing without letting anyone lock the Worker out. Memory is bounded:
 * past `maxClients` entries the oldest is dropped.
 */

type Window = { startedAt: number; failures: number };

export type AuthFailureLimiterOptions = {
  /** Wrong tokens allowed per client per window. */
  limit: number;
  windowMs: number;
  maxClients?: number;
  now?: () => number;
};

export class AuthFailureLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(options: AuthFailureLimiterOptions) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#maxClients = options.maxClients ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Whole seconds until `client` may present a token again; 0 when it may now. */
  retryAfterSeconds(client: string): number {
    const window = this.#current(client);
    if (window === undefined || window.failures < this.#limit) return 0;
    return Math.max(1, Math.ceil((window.startedAt + this.#windowMs - this.#now()) / 1000));
  }

  /** Counts one wrong token presented by `client`. */
  recordFailure(client: string): void {
    const window = this.#current(client);
    if (window !== undefined) {
      window.failures++;
      return;
    }
    if (this.#windows.size >= this.#maxClients) {
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    this.#windows.set(client, { startedAt: this.#now(), failures: 1 });
  }

  /** The client's window if it is still running (an expired one is forgotten). */
  #current(client: string): Window | undefined {
    const window = this.#windows.get(client);
    if (window === undefined) return undefined;
    if (this.#now() - window.startedAt >= this.#windowMs) {
      this.#windows.delete(client);
      return undefined;
    }
    return window;
  }
}

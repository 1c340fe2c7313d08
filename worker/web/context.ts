/** The Hono types shared by the web routes. */
import type { Context } from 'hono';

export interface WebSession {
  userId: string;
  email: string;
  /** SHA-256 of the session id, the row's key. */
  idHash: string;
}

export interface WebVariables {
  /** The signed-in user, or null. Set by the `browser` middleware. */
  session: WebSession | null;
  /** The token every form of this page must send back as `csrf`. */
  csrfToken: string;
}

export type WebEnv = { Bindings: Env; Variables: WebVariables };
export type WebContext = Context<WebEnv>;

/** The secret part of a user's ChatGPT link: stored only inside the AES-GCM envelope. */
export interface TokenBundle {
  accessToken: string;
  refreshToken: string;
  idToken: string | null;
  accountId: string;
  /** Access-token expiry (epoch ms) from its `exp` claim; null when the token has none. */
  expiresAt: number | null;
  planType: string | null;
  email: string | null;
  /** When the tokens were last obtained or refreshed (epoch ms). */
  refreshedAt: number | null;
}

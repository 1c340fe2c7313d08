/** The latest usage windows seen for a user, from upstream `x-codex-*` headers or events. */

export interface RateLimitWindow {
  usedPercent: number;
  windowMinutes: number | null;
  /** Epoch ms. */
  resetsAt: number | null;
}

export interface RateLimitSnapshot {
  /** Epoch ms when these figures were read. */
  capturedAt: number;
  primary: RateLimitWindow | null;
  secondary: RateLimitWindow | null;
  credits: { hasCredits: boolean | null; unlimited: boolean | null; balance: string | null } | null;
  planType: string | null;
}

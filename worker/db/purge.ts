/**
 * Deletes rows nobody needs any more. The hourly cron (`scheduled` in worker/index.ts, the
 * trigger in wrangler.jsonc) runs every purge in PURGES; each is one small bound-parameter
 * DELETE on an indexed column. A new table with a lifetime adds its purge to the list.
 * Lifetimes: docs/storage.md ("Retention").
 */

/** Used and expired magic links, OAuth states and device logins are kept this long, so a late click gets a clear page. */
export const SPENT_ROW_RETENTION_MS = 24 * 60 * 60_000;
/** A revoked key stays on the dashboard (and answers "revoked" in the logs) this long, then its row goes. */
export const REVOKED_KEY_RETENTION_MS = 30 * 24 * 60 * 60_000;

/** Hourly usage rows are kept this long: the dashboard's 30-day view, plus a few days' margin. */
export const KEY_USAGE_RETENTION_MS = 35 * 24 * 60 * 60_000;

export interface Purge {
  /** Names the rows in the cron's log line. */
  name: string;
  /** Deletes what is due at `now` (epoch ms); resolves with the number of rows deleted. */
  run(db: D1Database, now: number): Promise<number>;
}

async function deleted(statement: D1PreparedStatement): Promise<number> {
  return (await statement.run()).meta.changes;
}

export const purgeExpiredSessions: Purge = {
  name: 'sessions',
  run: (db, now) => deleted(db.prepare('DELETE FROM sessions WHERE expires_at <= ?').bind(now)),
};

export const purgeSpentMagicLinks: Purge = {
  name: 'magic_links',
  run: (db, now) => deleted(db.prepare('DELETE FROM magic_links WHERE expires_at < ?').bind(now - SPENT_ROW_RETENTION_MS)),
};

export const purgeSpentOAuthStates: Purge = {
  name: 'oauth_states',
  run: (db, now) => deleted(db.prepare('DELETE FROM oauth_states WHERE expires_at < ?').bind(now - SPENT_ROW_RETENTION_MS)),
};

export const purgeEndedRateLimits: Purge = {
  name: 'rate_limits',
  run: (db, now) => deleted(db.prepare('DELETE FROM rate_limits WHERE resets_at <= ?').bind(now)),
};

export const purgeRevokedApiKeys: Purge = {
  name: 'revoked_api_keys',
  run: (db, now) => deleted(db.prepare('DELETE FROM api_keys WHERE revoked_at < ?').bind(now - REVOKED_KEY_RETENTION_MS)),
};

export const purgeEndedDeviceLogins: Purge = {
  name: 'device_logins',
  run: (db, now) => deleted(db.prepare('DELETE FROM device_logins WHERE expires_at < ?').bind(now - SPENT_ROW_RETENTION_MS)),
};

export const purgeExpiredKeyFlashes: Purge = {
  name: 'key_flashes',
  run: (db, now) => deleted(db.prepare('DELETE FROM key_flashes WHERE expires_at <= ?').bind(now)),
};

export const purgeOldKeyUsage: Purge = {
  name: 'key_usage',
  run: (db, now) => deleted(db.prepare('DELETE FROM key_usage WHERE hour < ?').bind(now - KEY_USAGE_RETENTION_MS)),
};

export const PURGES: readonly Purge[] = [
  purgeExpiredSessions,
  purgeSpentMagicLinks,
  purgeSpentOAuthStates,
  purgeEndedRateLimits,
  purgeRevokedApiKeys,
  purgeEndedDeviceLogins,
  purgeExpiredKeyFlashes,
  purgeOldKeyUsage,
];

/**
 * Runs every purge, each on its own: one that fails is logged and the others still run; then it
 * throws, so the cron invocation shows as failed. Logs one line with the counts.
 */
export async function runPurges(db: D1Database, now: number, purges: readonly Purge[] = PURGES): Promise<void> {
  const counts: Record<string, number> = {};
  const failed: string[] = [];
  for (const purge of purges) {
    try {
      counts[purge.name] = await purge.run(db, now);
    } catch (err) {
      failed.push(purge.name);
      console.error(JSON.stringify({ event: 'purge_failed', purge: purge.name, error: err instanceof Error ? err.message : String(err) }));
    }
  }
  console.log(JSON.stringify({ event: 'purge', deleted: counts, ...(failed.length > 0 ? { failed } : {}) }));
  if (failed.length > 0) throw new Error(`purges failed: ${failed.join(', ')}`);
}

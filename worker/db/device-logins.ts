/**
 * Queries on `device_logins`: one row per device-code sign-in started on /onboarding. Only the
 * SHA-256 of the browser's login id is stored; the device_auth_id and user code only encrypted,
 * and only until the sign-in finishes.
 */

export interface DeviceLoginRow {
  login_hash: string;
  user_id: string;
  secret_ciphertext: string | null;
  interval_ms: number;
  polled_at: number | null;
  created_at: number;
  expires_at: number;
  finished_at: number | null;
  outcome: string | null;
}

export interface NewDeviceLogin {
  loginHash: string;
  userId: string;
  secretCiphertext: string;
  intervalMs: number;
  now: number;
  expiresAt: number;
}

/** Stores a device login; rows that ended before `purgeBefore` are dropped in the same batch. */
export async function insertDeviceLogin(db: D1Database, login: NewDeviceLogin, purgeBefore: number): Promise<void> {
  await db.batch([
    db.prepare('DELETE FROM device_logins WHERE expires_at < ?').bind(purgeBefore),
    db.prepare(
      `INSERT INTO device_logins (login_hash, user_id, secret_ciphertext, interval_ms, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).bind(login.loginHash, login.userId, login.secretCiphertext, login.intervalMs, login.now, login.expiresAt),
  ]);
}

export async function findDeviceLogin(db: D1Database, loginHash: string): Promise<DeviceLoginRow | null> {
  return db.prepare('SELECT * FROM device_logins WHERE login_hash = ?').bind(loginHash).first<DeviceLoginRow>();
}

/**
 * Takes the right to poll upstream now: true for one caller per interval (two tabs, or a
 * script and a button, never poll auth.openai.com faster than it asked).
 */
export async function claimDevicePoll(db: D1Database, loginHash: string, userId: string, now: number): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE device_logins SET polled_at = ?1
       WHERE login_hash = ?2 AND user_id = ?3 AND finished_at IS NULL AND expires_at > ?1
         AND (polled_at IS NULL OR polled_at + interval_ms <= ?1)`,
    )
    .bind(now, loginHash, userId)
    .run();
  return result.meta.changes === 1;
}

/** Ends the login with `outcome` and deletes its secrets; true for exactly one caller. */
export async function finishDeviceLogin(db: D1Database, loginHash: string, outcome: string, now: number): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE device_logins SET finished_at = ?1, outcome = ?2, secret_ciphertext = NULL
       WHERE login_hash = ?3 AND finished_at IS NULL`,
    )
    .bind(now, outcome, loginHash)
    .run();
  return result.meta.changes === 1;
}

/** Replaces the outcome of a finished login (the code exchange that followed the approval). */
export async function setDeviceLoginOutcome(db: D1Database, loginHash: string, outcome: string): Promise<void> {
  await db.prepare('UPDATE device_logins SET outcome = ? WHERE login_hash = ?').bind(outcome, loginHash).run();
}

/** Queries on `users`. Emails are stored normalized (see normalizeEmail). */

export interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  created_at: number;
  updated_at: number;
}

/** Trimmed and lower-cased, so one person is one row whatever they type. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserByEmail(db: D1Database, email: string): Promise<UserRow | null> {
  return db.prepare('SELECT * FROM users WHERE email = ?').bind(normalizeEmail(email)).first<UserRow>();
}

export async function findUserById(db: D1Database, id: string): Promise<UserRow | null> {
  return db.prepare('SELECT * FROM users WHERE id = ?').bind(id).first<UserRow>();
}

/**
 * Returns the user with this email, creating it when absent. A concurrent insert of the
 * same email is absorbed by ON CONFLICT, so two first sign-ins never make two users.
 */
export async function findOrCreateUser(
  db: D1Database,
  email: string,
  displayName: string | null,
  now: number,
): Promise<UserRow> {
  const normalized = normalizeEmail(email);
  await db
    .prepare(
      `INSERT INTO users (id, email, display_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (email) DO NOTHING`,
    )
    .bind(crypto.randomUUID(), normalized, displayName, now, now)
    .run();
  const user = await findUserByEmail(db, normalized);
  if (!user) throw new Error('user row missing right after insert');
  return user;
}

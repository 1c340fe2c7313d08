/** Queries on `users`. Emails are stored normalized (see normalizeEmail). */
import { normalizeEmail } from '../shared/email.ts';
import { UPSERT_USER_SQL, upsertUserParams } from './statements.ts';

export interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  created_at: number;
  updated_at: number;
}

export async function findUserByEmail(db: D1Database, email: string): Promise<UserRow | null> {
  return db.prepare('SELECT * FROM users WHERE email = ?').bind(normalizeEmail(email)).first<UserRow>();
}

/** Returns the user with this email, creating it when absent. */
export async function findOrCreateUser(
  db: D1Database,
  email: string,
  displayName: string | null,
  now: number,
): Promise<UserRow> {
  const normalized = normalizeEmail(email);
  await db.prepare(UPSERT_USER_SQL).bind(...upsertUserParams(crypto.randomUUID(), normalized, displayName, now)).run();
  const user = await findUserByEmail(db, normalized);
  if (!user) throw new Error('user row missing right after insert');
  return user;
}

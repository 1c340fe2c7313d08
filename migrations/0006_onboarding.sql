-- Onboarding: one ChatGPT account per user, and the device-code sign-in.
-- Formats, lifetimes and what is encrypted: docs/storage.md.

-- Two users linked to one ChatGPT account share one refresh-token family: the first refresh by
-- either signs the other out. Such pairs are already broken, so before the index can exist only
-- the most recently written link of each account is kept (the one most likely to hold the
-- current refresh token); the other users see "no ChatGPT account connected" and can link their own.
DELETE FROM codex_tokens
WHERE EXISTS (
  SELECT 1 FROM codex_tokens AS newer
  WHERE newer.account_id = codex_tokens.account_id
    AND (newer.updated_at > codex_tokens.updated_at
      OR (newer.updated_at = codex_tokens.updated_at AND newer.user_id > codex_tokens.user_id))
);
CREATE UNIQUE INDEX codex_tokens_by_account ON codex_tokens (account_id);

CREATE TABLE device_logins (
  login_hash        TEXT PRIMARY KEY,     -- hex SHA-256 of the 256-bit id in the browser's device-login cookie
  user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  secret_ciphertext TEXT,                 -- AES-256-GCM envelope of {device_auth_id, user_code}; NULL once finished
  interval_ms       INTEGER NOT NULL,     -- how often auth.openai.com may be polled
  polled_at         INTEGER,              -- last poll sent upstream (one per interval, whoever asks)
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,     -- created_at + 15 minutes
  finished_at       INTEGER,
  outcome           TEXT                  -- 'connected' or the failure kind shown to the user (never a secret)
);
CREATE INDEX device_logins_by_user ON device_logins (user_id);
CREATE INDEX device_logins_by_expiry ON device_logins (expires_at);

-- UseMySub initial schema. Every timestamp is epoch milliseconds (INTEGER).
-- What is hashed or encrypted, and with what, is documented in docs/storage.md.

CREATE TABLE users (
  id           TEXT PRIMARY KEY,          -- random UUID
  email        TEXT NOT NULL UNIQUE,      -- normalized: trimmed, lower-case
  display_name TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,          -- random UUID
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key_hash     TEXT NOT NULL UNIQUE,      -- hex HMAC-SHA-256(API_KEY_PEPPER, key); the key itself is never stored
  key_hint     TEXT NOT NULL,             -- display only: "cpk_" + first 4 + "…" + last 4 characters
  name         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
);
-- The request path looks keys up by key_hash (the UNIQUE constraint is its index);
-- the dashboard lists a user's keys.
CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at);

CREATE TABLE codex_tokens (
  user_id           TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  ciphertext        TEXT NOT NULL,        -- AES-256-GCM envelope of the token bundle; AAD binds it to user_id
  account_id        TEXT NOT NULL,        -- ChatGPT account id (an identifier, not a credential)
  plan_type         TEXT,
  account_email     TEXT,
  status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'reauth_required')),
  status_reason     TEXT,                 -- error code that caused reauth_required (never a token)
  version           INTEGER NOT NULL DEFAULT 1, -- bumped on every write; refreshes write only over the version they read
  access_expires_at INTEGER,              -- from the access token's exp claim
  refreshed_at      INTEGER,
  updated_at        INTEGER NOT NULL
);

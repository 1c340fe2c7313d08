-- Web accounts: magic-link sign-in, browser sessions, ChatGPT OAuth onboarding, rate limits.
-- Every timestamp is epoch milliseconds. Secrets are stored only hashed (or, for the PKCE
-- verifier, encrypted); formats and lifetimes are documented in docs/storage.md.

CREATE TABLE magic_links (
  token_hash TEXT PRIMARY KEY,            -- hex SHA-256 of the 256-bit token in the link; the token itself is never stored
  email      TEXT NOT NULL,               -- normalized; the account is created only when the link is redeemed
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,            -- created_at + 15 minutes
  used_at    INTEGER                      -- set by the one conditional UPDATE that redeems the link
);
-- Account deletion drops the email's pending links; cleanup drops old rows.
CREATE INDEX magic_links_by_email ON magic_links (email);
CREATE INDEX magic_links_by_expiry ON magic_links (expires_at);

CREATE TABLE sessions (
  id_hash    TEXT PRIMARY KEY,            -- hex SHA-256 of the 256-bit session id in the cookie
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE oauth_states (
  state_hash          TEXT PRIMARY KEY,   -- hex SHA-256 of the OAuth `state` sent to auth.openai.com
  user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  verifier_ciphertext TEXT,               -- PKCE verifier in the AES-256-GCM envelope; NULL once used
  created_at          INTEGER NOT NULL,
  expires_at          INTEGER NOT NULL,   -- created_at + 15 minutes
  used_at             INTEGER
);
CREATE INDEX oauth_states_by_user ON oauth_states (user_id);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);

CREATE TABLE rate_limits (
  bucket    TEXT PRIMARY KEY,             -- "<rule>:<hex HMAC of the subject>" (an email or an IP, never in clear)
  count     INTEGER NOT NULL,
  resets_at INTEGER NOT NULL              -- end of the current fixed window
);
CREATE INDEX rate_limits_by_expiry ON rate_limits (resets_at);

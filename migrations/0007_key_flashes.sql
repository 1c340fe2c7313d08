-- A key just created on the dashboard, held for the one page load after the post/redirect/get
-- redirect: encrypted, bound to the browser session that created it, deleted when read.
CREATE TABLE key_flashes (
  session_hash   TEXT PRIMARY KEY REFERENCES sessions (id_hash) ON DELETE CASCADE, -- the creating session; one flash at a time
  key_id         TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  key_ciphertext TEXT NOT NULL,           -- the clear key in the AES-256-GCM envelope; AAD binds it to session_hash and key_id
  expires_at     INTEGER NOT NULL         -- created + 5 minutes; older rows are never shown and are purged on write
);
CREATE INDEX key_flashes_by_expiry ON key_flashes (expires_at);

-- Limits a user sets per key on the dashboard (NULL: no limit). Day limits count in UTC days.
ALTER TABLE api_keys ADD COLUMN max_requests_per_day INTEGER;
ALTER TABLE api_keys ADD COLUMN max_tokens_per_day   INTEGER;  -- input + output tokens of the key's answers that day
ALTER TABLE api_keys ADD COLUMN allowed_models       TEXT;     -- JSON array of model ids the key may use; NULL: all of the account's
ALTER TABLE api_keys ADD COLUMN expires_at           INTEGER;  -- epoch ms after which the key is refused

-- What each key used, per hour and model: written in batches after the answers, never on the
-- request path. key_id has no foreign key on purpose, so a purged revoked key's usage still
-- counts in the account's totals until the row's own retention ends (docs/storage.md).
CREATE TABLE key_usage (
  user_id             TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key_id              TEXT    NOT NULL,
  hour                INTEGER NOT NULL,  -- epoch ms of the UTC hour's start
  model               TEXT    NOT NULL,  -- the model id the client asked for
  effort              TEXT    NOT NULL DEFAULT '',  -- reasoning effort sent upstream; '' when none
  requests            INTEGER NOT NULL DEFAULT 0,
  failed              INTEGER NOT NULL DEFAULT 0,  -- of which ended in an error (any status >= 400 or a failed stream)
  input_tokens        INTEGER NOT NULL DEFAULT 0,  -- including the cached ones, as the backend reports them
  cached_input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens       INTEGER NOT NULL DEFAULT 0,  -- including the reasoning ones
  reasoning_tokens    INTEGER NOT NULL DEFAULT 0,
  duration_ms         INTEGER NOT NULL DEFAULT 0,  -- summed; divide by requests for the mean
  PRIMARY KEY (key_id, hour, model, effort)
);
CREATE INDEX key_usage_by_user ON key_usage (user_id, hour);
CREATE INDEX key_usage_by_hour ON key_usage (hour);

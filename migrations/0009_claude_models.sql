-- Each user's own mapping of Claude model names or families (opus, sonnet, haiku, or a full
-- claude-… id) to a model id of their catalog, for the Anthropic Messages surface. A name
-- without a row uses the server's CLAUDE_MODEL_MAP. Nothing here is secret.
CREATE TABLE claude_models (
  user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name       TEXT    NOT NULL,  -- lower-cased family or Claude model id
  model      TEXT    NOT NULL,  -- a slug or <slug>-<effort> alias, lower-cased
  updated_at INTEGER NOT NULL,  -- epoch ms
  PRIMARY KEY (user_id, name)
);

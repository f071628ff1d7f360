-- Every paper and run belongs to a user (the name from MLR_API_TOKENS or the OIDC subject); rows made
-- before users existed belong to `default`, the user of a bare token.
ALTER TABLE papers ADD COLUMN owner text NOT NULL DEFAULT 'default';
ALTER TABLE papers ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE papers DROP CONSTRAINT papers_content_hash_key;
-- De-duplication is per owner: one user must not learn that another uploaded the same paper.
ALTER TABLE papers ADD CONSTRAINT papers_owner_content_hash_key UNIQUE (owner, content_hash);
CREATE INDEX papers_owner_created_idx ON papers (owner, created_at DESC, id DESC);

ALTER TABLE runs ADD COLUMN owner text NOT NULL DEFAULT 'default';
ALTER TABLE runs ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE runs DROP CONSTRAINT runs_idempotency_key_key;
ALTER TABLE runs ADD CONSTRAINT runs_owner_idempotency_key_key UNIQUE (owner, idempotency_key);
CREATE INDEX runs_owner_created_idx ON runs (owner, created_at DESC, id DESC);
CREATE INDEX runs_queued_idx ON runs (created_at) WHERE status = 'queued';

-- A model endpoint that omits `usage` is charged an estimate, never 0; a repaired answer says what changed.
ALTER TABLE llm_calls ADD COLUMN usage_estimated boolean NOT NULL DEFAULT false;
ALTER TABLE llm_calls ADD COLUMN repair text;

-- The workflow input, so the sweeper can start a run whose start failed (Temporal down, API killed).
ALTER TABLE runs ADD COLUMN input jsonb;

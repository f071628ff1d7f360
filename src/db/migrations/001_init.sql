-- Papers are deduplicated by the hash of their extracted text.
CREATE TABLE papers (
  id            uuid PRIMARY KEY,
  content_hash  text NOT NULL UNIQUE,
  title         text NOT NULL,
  format        text NOT NULL CHECK (format IN ('markdown', 'text', 'pdf')),
  content       text NOT NULL,
  sections      jsonb NOT NULL,
  bytes         integer NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);

CREATE TABLE runs (
  id                uuid PRIMARY KEY,
  paper_id          uuid NOT NULL REFERENCES papers(id),
  workflow_id       text NOT NULL UNIQUE,
  status            text NOT NULL,
  mode              text NOT NULL CHECK (mode IN ('supervised', 'autonomous')),
  idea_count        integer NOT NULL,
  approval_timeout  jsonb,
  idempotency_key   text UNIQUE,
  request_hash      text NOT NULL,
  round             integer NOT NULL DEFAULT 0,
  task_definition   jsonb,
  gaps              jsonb,
  keywords          jsonb,
  related_work      jsonb,
  retrieval         jsonb,
  selected_idea_id  uuid,
  error             text,
  created_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_status_idx ON runs (status, created_at DESC, id DESC);
CREATE INDEX runs_paper_idx ON runs (paper_id, created_at DESC, id DESC);
CREATE INDEX runs_created_idx ON runs (created_at DESC, id DESC);

CREATE TABLE ideas (
  id          uuid PRIMARY KEY,
  run_id      uuid NOT NULL REFERENCES runs(id),
  round       integer NOT NULL,
  position    integer NOT NULL,
  rank        integer,
  review      jsonb,
  body        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, round, position)
);

-- Append-only: the audit trail and the source of the SSE stream.
CREATE TABLE run_events (
  id          bigserial PRIMARY KEY,
  run_id      uuid NOT NULL REFERENCES runs(id),
  type        text NOT NULL,
  data        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_events_run_idx ON run_events (run_id, id);
CREATE FUNCTION run_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'run_events is append-only';
END $$;
CREATE TRIGGER run_events_no_update BEFORE UPDATE OR DELETE ON run_events
  FOR EACH ROW EXECUTE FUNCTION run_events_append_only();

CREATE TABLE llm_calls (
  id                 uuid PRIMARY KEY,
  run_id             uuid REFERENCES runs(id),
  role               text NOT NULL,
  model              text NOT NULL,
  call_key           text NOT NULL,
  request_hash       text NOT NULL,
  status             text NOT NULL CHECK (status IN ('ok', 'invalid', 'error')),
  prompt_tokens      integer NOT NULL DEFAULT 0,
  completion_tokens  integer NOT NULL DEFAULT 0,
  cost_usd           numeric(14, 6) NOT NULL DEFAULT 0,
  latency_ms         integer NOT NULL,
  completion         text,
  error              text,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_calls_run_idx ON llm_calls (run_id);
CREATE INDEX llm_calls_replay_idx ON llm_calls (run_id, call_key) WHERE status = 'ok';

CREATE TABLE scholar_cache (
  query_hash  text PRIMARY KEY,
  query       text NOT NULL,
  response    jsonb NOT NULL,
  fetched_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE runs ADD COLUMN task_id text;
ALTER TABLE runs ADD COLUMN until text NOT NULL DEFAULT 'succeeded';
ALTER TABLE runs ADD COLUMN result jsonb;
ALTER TABLE runs ADD COLUMN starter_hash text;
ALTER TABLE runs ADD COLUMN paused boolean NOT NULL DEFAULT false;

-- Content-addressed code snapshots of a run's workspace; the diff is against the starter code.
CREATE TABLE snapshots (
  run_id      uuid NOT NULL REFERENCES runs(id),
  code_hash   text NOT NULL,
  manifest    jsonb NOT NULL,
  diff        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, code_hash)
);

-- One row per agent step: the model's tool call, then the action's observation.
CREATE TABLE agent_steps (
  run_id        uuid NOT NULL REFERENCES runs(id),
  step          integer NOT NULL,
  tool          text NOT NULL,
  args          jsonb NOT NULL,
  tool_call_id  text NOT NULL,
  observation   text,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, step)
);

-- Messages for the agent that arrive between steps: a person's feedback, a failed execution's error.
CREATE TABLE agent_notes (
  id          bigserial PRIMARY KEY,
  run_id      uuid NOT NULL REFERENCES runs(id),
  after_step  integer NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('feedback', 'execution_error')),
  text        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_notes_run_idx ON agent_notes (run_id, id);

CREATE TABLE experiments (
  id                 uuid PRIMARY KEY,
  run_id             uuid REFERENCES runs(id),
  -- Names the execution for idempotency: a retried activity finds the finished one.
  exec_key           text NOT NULL UNIQUE,
  role               text NOT NULL CHECK (role IN ('baseline', 'candidate', 'agent')),
  attempt            integer NOT NULL,
  task_id            text NOT NULL,
  code_hash          text NOT NULL,
  seed               integer NOT NULL,
  status             text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'timeout', 'cancelled')),
  exit_code          integer,
  duration_ms        integer,
  peak_memory_mb     numeric(12, 1),
  metrics            jsonb,
  error              text,
  log_tail           text,
  log_uri            text,
  network_isolated   boolean,
  created_at         timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz
);
CREATE INDEX experiments_run_idx ON experiments (run_id, created_at);
-- Baselines are shared across runs: the same starter code, task and seed give the same measurement.
CREATE INDEX experiments_baseline_idx ON experiments (task_id, code_hash, seed) WHERE role = 'baseline' AND status = 'succeeded';

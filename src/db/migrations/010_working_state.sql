-- A run's working copy lives in Postgres and the object store, not on a worker's disk. Each agent step records
-- the state it left (files and backups by content) and the code hash measured from it; the newest step's state
-- is what any worker rebuilds the copy from.
CREATE TABLE working_states (
  run_id      uuid NOT NULL REFERENCES runs(id),
  state_hash  text NOT NULL,
  files       jsonb NOT NULL,
  backups     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, state_hash)
);
ALTER TABLE agent_steps ADD COLUMN state_hash text;
ALTER TABLE agent_steps ADD COLUMN code_hash text;

ALTER TABLE runs ADD COLUMN validation jsonb;

-- The rendered report of a run: every number in it comes from runs.validation, experiments and llm_calls.
CREATE TABLE reports (
  run_id      uuid PRIMARY KEY REFERENCES runs(id),
  data        jsonb NOT NULL,
  markdown    text NOT NULL,
  chart_svg   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

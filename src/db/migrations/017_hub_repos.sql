-- Models and datasets a run fetched from the Hub, pinned to a commit: what its experiments could read, and
-- what its report's provenance names.
CREATE TABLE hub_repos (
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('model', 'dataset')),
  repo_id text NOT NULL,
  revision text NOT NULL,
  files jsonb NOT NULL,
  bytes bigint NOT NULL,
  licence text,
  fetched_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, kind, repo_id)
);

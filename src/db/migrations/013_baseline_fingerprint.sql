-- A cached baseline is reused only for the same task fingerprint: the task folder as shipped (data, eval.py and
-- every script, task.json, requirements) and the environment that ran it, beside the code hash and the seed.
-- Before, a baseline was keyed by task id, code and seed alone, and an eval.py changed between two benchmarks
-- still got the old number. Rows from before have none, so they are never reused: the baseline is measured again.
ALTER TABLE experiments ADD COLUMN task_fingerprint text;
CREATE INDEX experiments_baseline_cache ON experiments (task_id, task_fingerprint, code_hash, seed)
  WHERE role = 'baseline' AND status = 'succeeded';

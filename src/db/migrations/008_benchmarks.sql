-- Benchmarks: a campaign over library tasks instead of papers. Each of its runs starts from the task's
-- research problem, with no paper and no idea, so a run's paper is optional from now on.
ALTER TABLE campaigns ADD COLUMN kind text NOT NULL DEFAULT 'campaign' CHECK (kind IN ('campaign', 'benchmark'));
ALTER TABLE runs ALTER COLUMN paper_id DROP NOT NULL;
ALTER TABLE runs ADD CONSTRAINT runs_subject CHECK (paper_id IS NOT NULL OR (task_id IS NOT NULL AND campaign_id IS NOT NULL));
CREATE INDEX campaigns_kind_idx ON campaigns (owner, kind, created_at DESC, id DESC);

-- Which backend ran each execution (`local`, `kubernetes`) and, for a Job, where: its name, node, GPU,
-- time spent queued, and when its container started.
ALTER TABLE experiments ADD COLUMN executor text;
ALTER TABLE experiments ADD COLUMN placement jsonb;

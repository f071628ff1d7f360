-- The script an execution ran. A candidate is measured by the entry point its agent named in the final answer
-- (train.py when it named none), and validation re-runs that same script over the seeds; the report shows it.
ALTER TABLE experiments ADD COLUMN script text;

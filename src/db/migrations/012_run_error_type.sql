-- Why a run failed, as a type rather than a sentence: benchmark results classify each run's end (the agent's
-- failure, the infrastructure's, a budget stop, a person's) from it, as upstream MLAgentBench leaves
-- infrastructure failures out of its denominator. Null for runs that did not fail, and for older rows.
ALTER TABLE runs ADD COLUMN error_type text;

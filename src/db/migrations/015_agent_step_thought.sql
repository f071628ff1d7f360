-- The model's own text that came with a step's tool call (its plan and status, in upstream MLAgentBench's
-- words its "Research Plan and Status"): kept so the mlab profile can show it back, as upstream's agent's memory.
ALTER TABLE agent_steps ADD COLUMN thought text;

-- What each model endpoint supports for structured answers, detected once and shared by every worker, and the
-- mode that served each call.
CREATE TABLE model_endpoints (
  endpoint text NOT NULL,
  model text NOT NULL,
  mode text NOT NULL CHECK (mode IN ('json_schema', 'json_object', 'tools', 'prompt')),
  probes jsonb NOT NULL,
  detected_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (endpoint, model)
);

ALTER TABLE llm_calls ADD COLUMN mode text;

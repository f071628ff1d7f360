-- Campaigns: many papers' runs under one budget. Each research run of a campaign keeps its own row, id and
-- workflow; (campaign_id, campaign_slot) is unique, so a campaign that crashed mid-fan-out never creates a slot's
-- run twice.
CREATE TABLE campaigns (
  id              uuid PRIMARY KEY,
  owner           text NOT NULL,
  name            text NOT NULL,
  workflow_id     text NOT NULL UNIQUE,
  status          text NOT NULL,
  spec            jsonb NOT NULL,
  budget          jsonb NOT NULL,
  idempotency_key text,
  request_hash    text NOT NULL,
  error           text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner, idempotency_key)
);
CREATE INDEX campaigns_owner_idx ON campaigns (owner, created_at DESC, id DESC);

CREATE TABLE campaign_events (
  id          bigserial PRIMARY KEY,
  campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  type        text NOT NULL,
  data        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaign_events_idx ON campaign_events (campaign_id, id);

ALTER TABLE runs ADD COLUMN campaign_id uuid REFERENCES campaigns (id);
ALTER TABLE runs ADD COLUMN campaign_slot integer;
-- The run's own budget {usd, tokens, gpuHours}; null: the service's defaults (MLR_RUN_MAX_*).
ALTER TABLE runs ADD COLUMN budget jsonb;
CREATE UNIQUE INDEX runs_campaign_slot_idx ON runs (campaign_id, campaign_slot) WHERE campaign_id IS NOT NULL;
CREATE INDEX runs_campaign_status_idx ON runs (campaign_id, status) WHERE campaign_id IS NOT NULL;

-- One row per model call and per execution: reserved (an estimate, counted until it expires) before the cost
-- is incurred, settled (the measured cost) after. Budgets compare against settled rows plus live reservations.
CREATE TABLE ledger (
  key         text PRIMARY KEY,
  owner       text NOT NULL,
  run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  campaign_id uuid REFERENCES campaigns (id),
  kind        text NOT NULL CHECK (kind IN ('model', 'execution')),
  stage       text NOT NULL,
  model       text,
  state       text NOT NULL CHECK (state IN ('reserved', 'settled')),
  tokens      bigint NOT NULL DEFAULT 0,
  usd         double precision NOT NULL DEFAULT 0,
  gpu_hours   double precision NOT NULL DEFAULT 0,
  cpu_hours   double precision NOT NULL DEFAULT 0,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  settled_at  timestamptz
);
CREATE INDEX ledger_run_idx ON ledger (run_id);
CREATE INDEX ledger_campaign_idx ON ledger (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX ledger_owner_idx ON ledger (owner, created_at);

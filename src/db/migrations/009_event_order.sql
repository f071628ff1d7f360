-- Event streams read in commit order, not id order. An id comes from a sequence when a row is inserted, so a
-- transaction that took id 5 can commit after another committed id 6: a reader past 6 never saw 5. Each row
-- now records the transaction that wrote it; readers take only rows whose transaction is older than every
-- transaction still running (pg_snapshot_xmin), in (tx, id) order, so nothing can later appear behind them.
ALTER TABLE run_events ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE campaign_events ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();

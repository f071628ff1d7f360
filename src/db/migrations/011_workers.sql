-- Workers register themselves: which host, which artifact store, which version, and when they last beat.
-- A worker whose store is local to its disk must not share the database with one on another host (each
-- would hold runs' files the other cannot read); the registry is where that is checked.
CREATE TABLE workers (
  id            text PRIMARY KEY,
  host          text NOT NULL,
  store         text NOT NULL,
  version       text NOT NULL,
  task_queue    text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  stopped_at    timestamptz
);
CREATE INDEX workers_heartbeat_idx ON workers (heartbeat_at DESC);

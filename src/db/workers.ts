import { transaction, type Queryable, type Transactional } from './types';

export interface WorkerRow {
  id: string;
  host: string;
  store: string;
  version: string;
  task_queue: string;
  started_at: Date;
  heartbeat_at: Date;
  stopped_at: Date | null;
  /** Beat within the liveness window and not stopped. */
  live: boolean;
}

/** Lock key that orders workers joining: two that start at once cannot both miss each other. */
const JOIN_LOCK = 7_346_001;

/**
 * Registers a worker, unless a live worker on another host makes it unsafe: either of the two keeps runs'
 * files in a store local to its own disk (`fs`). Returns that worker instead, registering nothing.
 */
export async function joinWorkers(
  db: Transactional,
  w: { id: string; host: string; store: string; version: string; taskQueue: string },
  liveSeconds: number,
): Promise<WorkerRow | undefined> {
  return transaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [JOIN_LOCK]);
    const { rows } = await tx.query<WorkerRow>(
      `SELECT *, true AS live FROM workers WHERE stopped_at IS NULL AND host <> $1 AND id <> $2
       AND heartbeat_at > now() - make_interval(secs => $3) AND ($4 = 'fs' OR store = 'fs')
       ORDER BY heartbeat_at DESC LIMIT 1`,
      [w.host, w.id, liveSeconds, w.store],
    );
    if (rows[0]) return rows[0];
    await tx.query(
      `INSERT INTO workers (id, host, store, version, task_queue) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL`,
      [w.id, w.host, w.store, w.version, w.taskQueue],
    );
    return undefined;
  });
}

export async function beatWorker(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE workers SET heartbeat_at = now() WHERE id = $1 AND stopped_at IS NULL', [id]);
}

export async function stopWorker(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE workers SET stopped_at = now() WHERE id = $1', [id]);
}

/** Workers seen within `days`, newest first, each marked live if it beat within `liveSeconds`. */
export async function listWorkers(db: Queryable, liveSeconds: number, days = 7): Promise<WorkerRow[]> {
  const { rows } = await db.query<WorkerRow>(
    `SELECT *, (stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => $1)) AS live FROM workers
     WHERE heartbeat_at > now() - make_interval(days => $2) ORDER BY heartbeat_at DESC LIMIT 500`,
    [liveSeconds, days],
  );
  return rows;
}

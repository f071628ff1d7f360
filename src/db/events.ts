import type { StreamPosition } from '../domain/stream';
import { pgJson, type Queryable } from './types';

export type RunEventType =
  | 'status'
  | 'llm_call'
  | 'decision'
  | 'retrieval'
  | 'created'
  | 'task'
  | 'experiment'
  | 'job'
  | 'agent_step'
  | 'feedback'
  | 'debug'
  | 'paused'
  | 'resumed'
  | 'result'
  | 'validation'
  | 'repair'
  | 'feedback_received'
  | 'budget'
  | 'hub_retrieval';

export interface RunEvent {
  id: string;
  run_id: string;
  type: RunEventType;
  data: Record<string, unknown>;
  created_at: Date;
}

/**
 * An event as a stream reads it: with the transaction that wrote it, and whether every older transaction has
 * ended (`settled`). Only a settled row may be passed: an unsettled one may yet get company behind it.
 */
export type StreamRow<E> = E & { tx: string; settled: boolean };

/** Columns a stream reads: the row, its transaction as text, and whether it is settled. */
export const STREAM_COLUMNS = 'e.*, e.tx::text AS tx, e.tx < pg_snapshot_xmin(pg_current_snapshot()) AS settled';

export async function appendEvent(db: Queryable, runId: string, type: RunEventType, data: object): Promise<void> {
  await db.query('INSERT INTO run_events (run_id, type, data) VALUES ($1, $2, $3)', [runId, type, pgJson(data)]);
}

export async function countEvents(db: Queryable, runId: string, type: RunEventType): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM run_events WHERE run_id = $1 AND type = $2',
    [runId, type],
  );
  return Number(rows[0]!.n);
}

/**
 * New events of many runs in one query, each run after its own position, in commit order: the one shared
 * poller behind every event stream asks this once per tick, however many clients listen.
 */
export async function eventsAfterMany(
  db: Queryable,
  cursors: Array<{ runId: string; after: StreamPosition }>,
  limit = 2000,
): Promise<Array<StreamRow<RunEvent>>> {
  if (cursors.length === 0) return [];
  const { rows } = await db.query<StreamRow<RunEvent>>(
    `SELECT ${STREAM_COLUMNS} FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS c(run_id, tx, after)
     JOIN run_events e ON e.run_id = c.run_id AND (e.tx, e.id) > (c.tx::xid8, c.after)
     ORDER BY e.tx, e.id LIMIT $4`,
    [cursors.map((c) => c.runId), cursors.map((c) => c.after.tx), cursors.map((c) => c.after.id), limit],
  );
  return rows;
}

/** Status and stopping point of many runs, for the shared poller to end finished streams. */
export async function runStates(
  db: Queryable,
  runIds: string[],
): Promise<Array<{ id: string; status: string; until: string }>> {
  if (runIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; status: string; until: string }>(
    'SELECT id, status, until FROM runs WHERE id = ANY($1::uuid[])',
    [runIds],
  );
  return rows;
}

/**
 * Where a stream that asks for no history starts: after every settled row. Rows of transactions still
 * running, or just ended while an older one runs, come after it: a moment's history may be replayed, none lost.
 */
export async function streamNow(db: Queryable): Promise<StreamPosition> {
  const { rows } = await db.query<{ tx: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS tx');
  return { tx: rows[0]!.tx, id: 0 };
}

/** The position of an event id a client last saw (Last-Event-ID), or of the nearest before it. */
export async function runEventPosition(db: Queryable, id: number): Promise<StreamPosition> {
  const { rows } = await db.query<{ tx: string; id: string }>(
    'SELECT tx::text AS tx, id FROM run_events WHERE id <= $1 ORDER BY id DESC LIMIT 1',
    [id],
  );
  return rows[0] ? { tx: rows[0].tx, id: Number(rows[0].id) } : { tx: '0', id: 0 };
}

/**
 * Status changes of every run of each owner after that owner's cursor (owner `*`: every owner's, an admin's
 * view), in one query: the stream behind the console's runs list and inbox badge.
 */
export async function ownerStatusEventsAfter(
  db: Queryable,
  cursors: Array<{ owner: string; after: StreamPosition }>,
  limit = 2000,
): Promise<Array<StreamRow<RunEvent> & { owner: string; stream: string }>> {
  if (cursors.length === 0) return [];
  const { rows } = await db.query<StreamRow<RunEvent> & { owner: string; stream: string }>(
    `SELECT ${STREAM_COLUMNS}, r.owner, c.owner AS stream
     FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(owner, tx, after)
     JOIN run_events e ON e.type = 'status' AND (e.tx, e.id) > (c.tx::xid8, c.after)
     JOIN runs r ON r.id = e.run_id AND (c.owner = '*' OR r.owner = c.owner)
     ORDER BY e.tx, e.id LIMIT $4`,
    [cursors.map((c) => c.owner), cursors.map((c) => c.after.tx), cursors.map((c) => c.after.id), limit],
  );
  return rows;
}

/** One page of a run's events in order, after an event id: the run's history as the API lists it. */
export async function eventsPage(db: Queryable, runId: string, after: number, limit: number): Promise<RunEvent[]> {
  const { rows } = await db.query<RunEvent>(
    'SELECT * FROM run_events WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3',
    [runId, after, limit],
  );
  return rows;
}

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
  | 'budget';

export interface RunEvent {
  id: string;
  run_id: string;
  type: RunEventType;
  data: Record<string, unknown>;
  created_at: Date;
}

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
 * New events of many runs in one query, each run after its own cursor: the one shared poller behind every
 * event stream asks this once per tick, however many clients listen.
 */
export async function eventsAfterMany(
  db: Queryable,
  cursors: Array<{ runId: string; after: number }>,
  limit = 2000,
): Promise<RunEvent[]> {
  if (cursors.length === 0) return [];
  const { rows } = await db.query<RunEvent>(
    `SELECT e.* FROM unnest($1::uuid[], $2::bigint[]) AS c(run_id, after)
     JOIN run_events e ON e.run_id = c.run_id AND e.id > c.after
     ORDER BY e.id LIMIT $3`,
    [cursors.map((c) => c.runId), cursors.map((c) => c.after), limit],
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

/** The newest event's id: where a stream that asks for no history starts. */
export async function lastEventId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: string | null }>('SELECT max(id) AS id FROM run_events');
  return Number(rows[0]?.id ?? 0);
}

/**
 * Status changes of every run of each owner after that owner's cursor (owner `*`: every owner's, an admin's
 * view), in one query: the stream behind the console's runs list and inbox badge.
 */
export async function ownerStatusEventsAfter(
  db: Queryable,
  cursors: Array<{ owner: string; after: number }>,
  limit = 2000,
): Promise<Array<RunEvent & { owner: string; stream: string }>> {
  if (cursors.length === 0) return [];
  const { rows } = await db.query<RunEvent & { owner: string; stream: string }>(
    `SELECT e.*, r.owner, c.owner AS stream FROM unnest($1::text[], $2::bigint[]) AS c(owner, after)
     JOIN run_events e ON e.type = 'status' AND e.id > c.after
     JOIN runs r ON r.id = e.run_id AND (c.owner = '*' OR r.owner = c.owner)
     ORDER BY e.id LIMIT $3`,
    [cursors.map((c) => c.owner), cursors.map((c) => c.after), limit],
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

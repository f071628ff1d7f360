import type { Queryable } from './types';

export type RunEventType = 'status' | 'llm_call' | 'decision' | 'retrieval' | 'created' | 'task' | 'experiment' | 'agent_step' | 'feedback' | 'debug' | 'paused' | 'resumed' | 'result' | 'validation';

export interface RunEvent {
  id: string;
  run_id: string;
  type: RunEventType;
  data: Record<string, unknown>;
  created_at: Date;
}

export async function appendEvent(db: Queryable, runId: string, type: RunEventType, data: object): Promise<void> {
  await db.query('INSERT INTO run_events (run_id, type, data) VALUES ($1, $2, $3)', [runId, type, JSON.stringify(data)]);
}

export async function eventsAfter(db: Queryable, runId: string, afterId: number, limit = 500): Promise<RunEvent[]> {
  const { rows } = await db.query<RunEvent>(
    'SELECT * FROM run_events WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3',
    [runId, afterId, limit],
  );
  return rows;
}

import type { Queryable } from './types';
import type { ApprovalTimeout, RunMode, RunStatus, RunUntil } from '../workflows/definitions';

export interface RunRow {
  id: string;
  paper_id: string;
  workflow_id: string;
  status: RunStatus;
  mode: RunMode;
  idea_count: number;
  approval_timeout: ApprovalTimeout | null;
  idempotency_key: string | null;
  request_hash: string;
  round: number;
  task_definition: Record<string, unknown> | null;
  gaps: unknown[] | null;
  keywords: string[] | null;
  related_work: unknown[] | null;
  retrieval: { status: 'ok' | 'unavailable'; reason?: string; source?: string } | null;
  selected_idea_id: string | null;
  error: string | null;
  task_id: string | null;
  until: RunUntil;
  result: Record<string, unknown> | null;
  starter_hash: string | null;
  paused: boolean;
  validation: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewRun {
  id: string;
  paperId: string;
  workflowId: string;
  mode: RunMode;
  ideaCount: number;
  approvalTimeout?: ApprovalTimeout;
  idempotencyKey?: string;
  requestHash: string;
  taskId?: string;
  until: RunUntil;
}

/** Inserts a run; with an idempotency key already used, returns that run instead (created: false). */
export async function insertRun(db: Queryable, r: NewRun): Promise<{ run: RunRow; created: boolean }> {
  const { rows } = await db.query<RunRow>(
    `INSERT INTO runs (id, paper_id, workflow_id, status, mode, idea_count, approval_timeout, idempotency_key, request_hash, task_id, until)
     VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
    [r.id, r.paperId, r.workflowId, r.mode, r.ideaCount, r.approvalTimeout ? JSON.stringify(r.approvalTimeout) : null,
      r.idempotencyKey ?? null, r.requestHash, r.taskId ?? null, r.until],
  );
  if (rows[0]) return { run: rows[0], created: true };
  const existing = await db.query<RunRow>('SELECT * FROM runs WHERE idempotency_key = $1', [r.idempotencyKey]);
  return { run: existing.rows[0]!, created: false };
}

export async function deleteRun(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM runs WHERE id = $1', [id]);
}

export async function getRun(db: Queryable, id: string): Promise<RunRow | undefined> {
  const { rows } = await db.query<RunRow>('SELECT * FROM runs WHERE id = $1', [id]);
  return rows[0];
}

export interface RunFilter {
  status?: RunStatus;
  paperId?: string;
  before?: { createdAt: string; id: string };
  limit: number;
}

export async function listRuns(db: Queryable, f: RunFilter): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    `SELECT * FROM runs
     WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR paper_id = $2)
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [f.status ?? null, f.paperId ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
  );
  return rows;
}

type Patchable = Pick<RunRow, 'status' | 'round' | 'task_definition' | 'gaps' | 'keywords' | 'related_work' | 'retrieval'
  | 'selected_idea_id' | 'error' | 'task_id' | 'starter_hash' | 'paused'> & { result: object; validation: object };

/** Sets the given columns and bumps updated_at; JSON columns are serialised here. */
export async function patchRun(db: Queryable, id: string, patch: Partial<Patchable>): Promise<void> {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return;
  const sets = entries.map(([k], i) => `${k} = $${i + 2}`);
  const values = entries.map(([, v]) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v));
  const res = await db.query(`UPDATE runs SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, [id, ...values]);
  if (res.rowCount === 0) throw new Error(`run ${id} does not exist`);
}

import type { Analysis } from '../domain/schemas';
import type { RelatedPaper, Retrieval, RunResult } from '../domain/run';
import { addBudget, type Budget } from '../domain/budget';
import type { OwnerScope } from '../domain/user';
import type { Flag } from '../validation/checks';
import type { ValidationRecord } from '../validation/report';
import type { ApprovalTimeout, RunInput, RunMode, RunStatus, RunUntil } from '../domain/run-input';
import { pgJson, transaction, type Queryable, type Transactional } from './types';
import type { PaperRow } from './papers';

export type StoredValidation = ValidationRecord & { flags: Flag[] };

export interface RunRow {
  id: string;
  owner: string;
  paper_id: string | null;
  workflow_id: string;
  status: RunStatus;
  mode: RunMode;
  idea_count: number;
  approval_timeout: ApprovalTimeout | null;
  idempotency_key: string | null;
  request_hash: string;
  round: number;
  task_definition: Analysis['taskDefinition'] | null;
  gaps: Analysis['gaps'] | null;
  keywords: string[] | null;
  related_work: RelatedPaper[] | null;
  retrieval: Retrieval | null;
  selected_idea_id: string | null;
  error: string | null;
  error_type: string | null;
  task_id: string | null;
  until: RunUntil;
  result: RunResult | null;
  starter_hash: string | null;
  paused: boolean;
  validation: StoredValidation | null;
  input: RunInput | null;
  campaign_id: string | null;
  campaign_slot: number | null;
  budget: Budget | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewRun {
  id: string;
  owner: string;
  paperId: string;
  workflowId: string;
  mode: RunMode;
  ideaCount: number;
  approvalTimeout?: ApprovalTimeout;
  idempotencyKey?: string;
  requestHash: string;
  taskId?: string;
  until: RunUntil;
  /** The workflow's input, kept so a run whose start failed can be started again by the sweeper. */
  input: RunInput;
}

/**
 * Inserts a run and its `created` event in one transaction; with an idempotency key the owner already
 * used, returns that run instead (created: false) and writes nothing.
 */
export async function insertRun(
  db: Transactional,
  r: NewRun,
  event: object,
): Promise<{ run: RunRow; created: boolean }> {
  return transaction(db, async (tx) => {
    const { rows } = await tx.query<RunRow>(
      `INSERT INTO runs (id, owner, paper_id, workflow_id, status, mode, idea_count, approval_timeout, idempotency_key,
         request_hash, task_id, until, input)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (owner, idempotency_key) DO NOTHING RETURNING *`,
      [
        r.id,
        r.owner,
        r.paperId,
        r.workflowId,
        r.mode,
        r.ideaCount,
        r.approvalTimeout ? JSON.stringify(r.approvalTimeout) : null,
        r.idempotencyKey ?? null,
        r.requestHash,
        r.taskId ?? null,
        r.until,
        JSON.stringify(r.input),
      ],
    );
    if (rows[0]) {
      await tx.query('INSERT INTO run_events (run_id, type, data) VALUES ($1, $2, $3)', [
        r.id,
        'created',
        JSON.stringify(event),
      ]);
      return { run: rows[0], created: true };
    }
    const existing = await tx.query<RunRow>('SELECT * FROM runs WHERE owner = $1 AND idempotency_key = $2', [
      r.owner,
      r.idempotencyKey,
    ]);
    return { run: existing.rows[0]!, created: false };
  });
}

/** A run by id; with an owner scope, another owner's run is not found. */
export async function getRun(db: Queryable, id: string, scope: OwnerScope = null): Promise<RunRow | undefined> {
  const { rows } = await db.query<RunRow>('SELECT * FROM runs WHERE id = $1 AND ($2::text IS NULL OR owner = $2)', [
    id,
    scope,
  ]);
  return rows[0];
}

/** A run with its paper in one round trip: what every idea-stage activity starts from. */
export async function getRunWithPaper(
  db: Queryable,
  id: string,
): Promise<{ run: RunRow; paper: PaperRow | undefined } | undefined> {
  const { rows } = await db.query<RunRow & { paper: PaperRow | null }>(
    'SELECT r.*, to_jsonb(p) AS paper FROM runs r LEFT JOIN papers p ON p.id = r.paper_id WHERE r.id = $1',
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { paper, ...run } = row;
  return { run, paper: paper ? { ...paper, created_at: new Date(paper.created_at) } : undefined };
}

export interface StatusChange {
  status: RunStatus;
  round: number;
  selectedIdeaId: string | null;
  error: string | null;
  /** The failure's type, for benchmark accounting (domain/run-end.ts). */
  errorType: string | null;
  /** Events of the transition, in order; written in the same statement as the status. */
  events: Array<{ type: 'status' | 'decision'; data: object }>;
  /** Tells the run's campaign, if it has one, in the same statement. */
  progress: object;
}

/**
 * A run's new status, its events and its campaign's progress row in one statement (one transaction): whoever sees
 * the run in its new status (the SSE stream deciding to end) finds every event of the transition written.
 */
export async function recordStatusChange(db: Queryable, id: string, change: StatusChange): Promise<void> {
  const { rows } = await db.query<{ n: number }>(
    `WITH up AS (
       UPDATE runs SET status = $2, round = $3, selected_idea_id = $4, error = $5, error_type = $9, updated_at = now()
       WHERE id = $1 RETURNING id, campaign_id
     ), ev AS (
       INSERT INTO run_events (run_id, type, data)
       SELECT up.id, e.type, e.data FROM up, unnest($6::text[], $7::jsonb[]) WITH ORDINALITY AS e(type, data, ord)
       ORDER BY e.ord
     ), progress AS (
       INSERT INTO campaign_events (campaign_id, type, data)
       SELECT campaign_id, 'run', $8 FROM up WHERE campaign_id IS NOT NULL
     )
     SELECT count(*)::int AS n FROM up`,
    [
      id,
      change.status,
      change.round,
      change.selectedIdeaId,
      change.error,
      change.events.map((e) => e.type),
      change.events.map((e) => pgJson(e.data)),
      pgJson({ runId: id, ...change.progress }),
      change.errorType,
    ],
  );
  if (rows[0]!.n === 0) throw new Error(`run ${id} does not exist`);
}

export interface RunFilter {
  scope: OwnerScope;
  idempotencyKey?: string;
  status?: RunStatus;
  paperId?: string;
  campaignId?: string;
  before?: { createdAt: string; id: string };
  limit: number;
}

export async function listRuns(db: Queryable, f: RunFilter): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    `SELECT * FROM runs
     WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR paper_id = $2)
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
       AND ($6::text IS NULL OR owner = $6) AND ($7::text IS NULL OR idempotency_key = $7)
       AND ($8::uuid IS NULL OR campaign_id = $8)
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [
      f.status ?? null,
      f.paperId ?? null,
      f.before?.createdAt ?? null,
      f.before?.id ?? null,
      f.limit,
      f.scope,
      f.idempotencyKey ?? null,
      f.campaignId ?? null,
    ],
  );
  return rows;
}

/** Runs waiting for a person's decision, the longest-waiting first (the approval inbox). */
export async function runsAwaitingApproval(db: Queryable, scope: OwnerScope, limit: number): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    `SELECT * FROM runs WHERE status = 'awaiting_approval' AND ($1::text IS NULL OR owner = $1)
     ORDER BY updated_at ASC, id ASC LIMIT $2`,
    [scope, limit],
  );
  return rows;
}

/** Runs of an owner that have not reached a final status, for the cap on concurrently active runs. */
export async function countActiveRuns(db: Queryable, owner: string, finalStatuses: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    // A campaign's runs count too: they are the user's work as much as the ones started alone.
    `SELECT count(*) AS n FROM runs WHERE owner = $1 AND status <> ALL($2::text[])
       AND NOT (until = 'approved' AND status = 'approved')`,
    [owner, finalStatuses],
  );
  return Number(rows[0]!.n);
}

/** Runs still `queued` after the grace period: a crash between the insert and the workflow start. */
export async function staleQueuedRuns(db: Queryable, olderThanMs: number, limit = 100): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    // A campaign's runs are its children: the campaign workflow starts them, never the sweeper.
    `SELECT * FROM runs WHERE status = 'queued' AND campaign_id IS NULL
       AND created_at < now() - $1::float8 * interval '1 millisecond'
     ORDER BY created_at LIMIT $2`,
    [olderThanMs, limit],
  );
  return rows;
}

type Patchable = Pick<
  RunRow,
  | 'status'
  | 'round'
  | 'task_definition'
  | 'gaps'
  | 'keywords'
  | 'related_work'
  | 'retrieval'
  | 'selected_idea_id'
  | 'error'
  | 'task_id'
  | 'starter_hash'
  | 'paused'
  | 'result'
  | 'validation'
>;

/** Sets the given columns and bumps updated_at; JSON columns are serialised here. */
export async function patchRun(db: Queryable, id: string, patch: Partial<Patchable>): Promise<void> {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return;
  const sets = entries.map(([k], i) => `${k} = $${i + 2}`);
  const values = entries.map(([, v]) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v));
  const res = await db.query(`UPDATE runs SET ${sets.join(', ')}, updated_at = now() WHERE id = $1`, [id, ...values]);
  if (res.rowCount === 0) throw new Error(`run ${id} does not exist`);
}

/** Adds to a run's budget (its defaults when it had none) under the row's lock, which reservations take too. */
export async function topUpRunBudget(db: Transactional, id: string, defaults: Budget, add: Budget): Promise<Budget> {
  return transaction(db, async (tx) => {
    const row = (await tx.query<{ budget: Budget | null }>('SELECT budget FROM runs WHERE id = $1 FOR UPDATE', [id]))
      .rows[0];
    if (!row) throw new Error(`run ${id} does not exist`);
    const budget = addBudget(row.budget ?? defaults, add);
    await tx.query('UPDATE runs SET budget = $2, updated_at = now() WHERE id = $1', [id, JSON.stringify(budget)]);
    await tx.query('INSERT INTO run_events (run_id, type, data) VALUES ($1, $2, $3)', [
      id,
      'budget',
      JSON.stringify({ added: add, budget }),
    ]);
    return budget;
  });
}

import { randomUUID } from 'node:crypto';
import { pgJson, pgText, type Queryable } from './types';
import type { ExecutionResult, Placement } from '../experiments/executor/types';

export interface ExperimentRow {
  id: string;
  run_id: string | null;
  exec_key: string;
  role: 'baseline' | 'candidate' | 'agent';
  attempt: number;
  task_id: string;
  code_hash: string;
  task_fingerprint: string | null;
  script: string | null;
  seed: number;
  status: 'running' | ExecutionResult['status'];
  exit_code: number | null;
  duration_ms: number | null;
  peak_memory_mb: string | null;
  metrics: ExecutionResult['metrics'];
  error: string | null;
  log_tail: string | null;
  log_uri: string | null;
  network_isolated: boolean | null;
  sandbox: ExecutionResult['sandbox'] | null;
  /** The backend that ran it (`local`, `kubernetes`); null before migration 006. */
  executor: string | null;
  placement: Placement | null;
  created_at: Date;
  finished_at: Date | null;
}

export async function experimentByKey(db: Queryable, key: string): Promise<ExperimentRow | undefined> {
  const { rows } = await db.query<ExperimentRow>('SELECT * FROM experiments WHERE exec_key = $1', [key]);
  return rows[0];
}

/** Marks an execution as started; a row left `running` by a dead worker is taken over. */
export async function startExperiment(
  db: Queryable,
  e: {
    runId: string | null;
    key: string;
    role: ExperimentRow['role'];
    attempt: number;
    taskId: string;
    /** The prepared task's fingerprint (tasks/library.ts): what a cached baseline must match. */
    taskFingerprint?: string;
    codeHash: string;
    seed: number;
    /** The script it runs (train.py, or the entry point the agent named). */
    script?: string;
  },
): Promise<ExperimentRow> {
  const { rows } = await db.query<ExperimentRow>(
    `INSERT INTO experiments (id, run_id, exec_key, role, attempt, task_id, code_hash, seed, status, task_fingerprint,
       script)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', $9, $10)
     ON CONFLICT (exec_key) DO UPDATE SET code_hash = EXCLUDED.code_hash, task_fingerprint = EXCLUDED.task_fingerprint,
       script = EXCLUDED.script, created_at = now()
     RETURNING *`,
    [
      randomUUID(),
      e.runId,
      e.key,
      e.role,
      e.attempt,
      e.taskId,
      e.codeHash,
      e.seed,
      e.taskFingerprint ?? null,
      e.script ?? null,
    ],
  );
  return rows[0]!;
}

export async function finishExperiment(db: Queryable, id: string, r: ExecutionResult): Promise<ExperimentRow> {
  const { rows } = await db.query<ExperimentRow>(
    `UPDATE experiments SET status = $2, exit_code = $3, duration_ms = $4, peak_memory_mb = $5, metrics = $6, error = $7,
       log_tail = $8, log_uri = $9, network_isolated = $10, sandbox = $11, executor = $12, placement = $13,
       finished_at = now() WHERE id = $1 RETURNING *`,
    [
      id,
      r.status,
      r.exitCode,
      r.durationMs,
      r.peakMemoryMb,
      r.metrics ? pgJson(r.metrics) : null,
      pgText(r.error ?? null),
      pgText(r.logTail),
      r.log.uri,
      r.networkIsolated,
      r.sandbox,
      r.backend,
      r.placement ? pgJson(r.placement) : null,
    ],
  );
  return rows[0]!;
}

/**
 * A finished baseline of the same task, fingerprint (data, scripts, task.json, environment), code and seed, from
 * any run: anything that could change its number changes the key, so a cached baseline cannot go stale.
 */
export async function cachedBaseline(
  db: Queryable,
  task: { id: string; fingerprint: string },
  codeHash: string,
  seed: number,
): Promise<ExperimentRow | undefined> {
  const { rows } = await db.query<ExperimentRow>(
    `SELECT * FROM experiments WHERE role = 'baseline' AND status = 'succeeded' AND task_id = $1
       AND task_fingerprint = $2 AND code_hash = $3 AND seed = $4
     ORDER BY created_at LIMIT 1`,
    [task.id, task.fingerprint, codeHash, seed],
  );
  return rows[0];
}

/**
 * The executions of many runs in one query, each run's baseline (possibly another run's cached one) included:
 * run id → its executions, oldest first.
 */
export async function experimentsForRuns(db: Queryable, runIds: string[]): Promise<Map<string, ExperimentRow[]>> {
  const out = new Map<string, ExperimentRow[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  const { rows } = await db.query<ExperimentRow & { for_run: string }>(
    `SELECT e.*, e.run_id AS for_run FROM experiments e WHERE e.run_id = ANY($1::uuid[])
     UNION SELECT b.*, r.id AS for_run FROM experiments b JOIN runs r ON r.id = ANY($1::uuid[])
       AND (r.result->>'baselineExperimentId')::uuid = b.id
     ORDER BY created_at`,
    [runIds],
  );
  for (const { for_run, ...row } of rows) out.get(for_run)!.push(row);
  return out;
}

export async function experimentsByIds(db: Queryable, ids: string[]): Promise<ExperimentRow[]> {
  const { rows } = await db.query<ExperimentRow>('SELECT * FROM experiments WHERE id = ANY($1::uuid[])', [ids]);
  return rows;
}

export async function getExperiment(db: Queryable, id: string): Promise<ExperimentRow | undefined> {
  return (await experimentsByIds(db, [id]))[0];
}

/**
 * An execution that belongs to the run: its own, or the (possibly shared) baseline of its starter code.
 * The run must already be in the caller's scope.
 */
export async function experimentOfRun(
  db: Queryable,
  runId: string,
  experimentId: string,
): Promise<ExperimentRow | undefined> {
  const { rows } = await db.query<ExperimentRow>(
    `SELECT e.* FROM experiments e JOIN runs r ON r.id = $1
     WHERE e.id = $2 AND (e.run_id = r.id OR (r.result->>'baselineExperimentId')::uuid = e.id OR
       (e.role = 'baseline' AND e.task_id = r.task_id AND e.code_hash = r.starter_hash))`,
    [runId, experimentId],
  );
  return rows[0];
}

/** Total execution time of a run, in milliseconds. */
export async function computeMsForRun(db: Queryable, runId: string): Promise<number> {
  const { rows } = await db.query<{ ms: string }>(
    'SELECT coalesce(sum(duration_ms), 0) AS ms FROM experiments WHERE run_id = $1',
    [runId],
  );
  return Number(rows[0]!.ms);
}

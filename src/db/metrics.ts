// What /metrics reports, read in one round of small aggregate queries (no per-run rows leave Postgres).
import { WORKER_LIVE_SECONDS } from '../domain/workers';
import type { Queryable } from './types';

export interface ServiceMetrics {
  runsByStatus: Array<{ status: string; count: number }>;
  approvalsWaiting: number;
  oldestApprovalSeconds: number;
  queuedRuns: number;
  oldestQueuedSeconds: number;
  /** Live workers by artifact store. */
  workersLive: Array<{ store: string; count: number }>;
  executions: Array<{ status: string; backend: string; count: number }>;
  tokens: Array<{ model: string; prompt: number; completion: number; costUsd: number }>;
}

export async function serviceMetrics(db: Queryable): Promise<ServiceMetrics> {
  const runs = await db.query<{ status: string; count: string }>(
    'SELECT status, count(*) AS count FROM runs GROUP BY status ORDER BY status',
  );
  const waiting = await db.query<{ status: string; count: string; oldest: string | null }>(
    `SELECT status, count(*) AS count, EXTRACT(EPOCH FROM now() - min(updated_at)) AS oldest
       FROM runs WHERE status IN ('awaiting_approval', 'queued') GROUP BY status`,
  );
  const executions = await db.query<{ status: string; backend: string; count: string }>(
    `SELECT status, COALESCE(executor, 'local') AS backend, count(*) AS count FROM experiments
      GROUP BY status, COALESCE(executor, 'local') ORDER BY 1, 2`,
  );
  const tokens = await db.query<{ model: string; prompt: string; completion: string; cost: string }>(
    `SELECT model, sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion, sum(cost_usd) AS cost
       FROM llm_calls GROUP BY model ORDER BY model`,
  );
  const workers = await db.query<{ store: string; count: string }>(
    `SELECT store, count(*) AS count FROM workers
      WHERE stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => $1) GROUP BY store ORDER BY store`,
    [WORKER_LIVE_SECONDS],
  );
  const of = (status: string) => waiting.rows.find((r) => r.status === status);
  return {
    runsByStatus: runs.rows.map((r) => ({ status: r.status, count: Number(r.count) })),
    approvalsWaiting: Number(of('awaiting_approval')?.count ?? 0),
    oldestApprovalSeconds: Number(of('awaiting_approval')?.oldest ?? 0),
    queuedRuns: Number(of('queued')?.count ?? 0),
    oldestQueuedSeconds: Number(of('queued')?.oldest ?? 0),
    workersLive: workers.rows.map((r) => ({ store: r.store, count: Number(r.count) })),
    executions: executions.rows.map((r) => ({ status: r.status, backend: r.backend, count: Number(r.count) })),
    tokens: tokens.rows.map((r) => ({
      model: r.model,
      prompt: Number(r.prompt),
      completion: Number(r.completion),
      costUsd: Number(r.cost),
    })),
  };
}

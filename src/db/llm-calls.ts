import { randomUUID } from 'node:crypto';
import { pgJson, type Queryable } from './types';

export interface LlmCallRecord {
  runId: string;
  role: string;
  model: string;
  callKey: string;
  requestHash: string;
  status: 'ok' | 'invalid' | 'error';
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  latencyMs: number;
  completion?: string;
  error?: string;
  /** The endpoint sent no usage: the tokens are the service's estimate. */
  usageEstimated?: boolean;
  /** What was repaired in a schema-valid but inconsistent answer. */
  repair?: string;
  /** How the endpoint was asked: json_schema, json_object, tools or prompt (see domain/model-modes.ts). */
  mode?: string;
}

/**
 * Records one model call; with `event`, also its `llm_call` event on the run's log, in the same statement (one
 * round trip, and the event never exists without its call).
 */
export async function insertLlmCall(db: Queryable, c: LlmCallRecord, event?: object): Promise<void> {
  const values = [
    randomUUID(),
    c.runId,
    c.role,
    c.model,
    c.callKey,
    c.requestHash,
    c.status,
    c.promptTokens,
    c.completionTokens,
    c.costUsd,
    c.latencyMs,
    c.completion ?? null,
    c.error ?? null,
    c.usageEstimated ?? false,
    c.repair ?? null,
    c.mode ?? null,
  ];
  const insert = `INSERT INTO llm_calls (id, run_id, role, model, call_key, request_hash, status, prompt_tokens,
       completion_tokens, cost_usd, latency_ms, completion, error, usage_estimated, repair, mode)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`;
  if (!event) {
    await db.query(insert, values);
    return;
  }
  await db.query(
    `WITH call AS (${insert} RETURNING run_id)
     INSERT INTO run_events (run_id, type, data) SELECT run_id, 'llm_call', $17 FROM call`,
    [...values, pgJson(event)],
  );
}

/**
 * A completion already paid for by an earlier attempt of the same step (a retried activity). Keyed by
 * the step alone: a retry may see a changed world (a file an edit already wrote), and the step must
 * not be answered twice.
 */
export async function findAnsweredCall(db: Queryable, runId: string, callKey: string): Promise<string | undefined> {
  const { rows } = await db.query<{ completion: string }>(
    `SELECT completion FROM llm_calls WHERE run_id = $1 AND call_key = $2 AND status = 'ok'
     ORDER BY created_at DESC LIMIT 1`,
    [runId, callKey],
  );
  return rows[0]?.completion;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export async function usageForRun(db: Queryable, runId: string): Promise<Usage> {
  const { rows } = await db.query<{ p: string; c: string; cost: string }>(
    `SELECT coalesce(sum(prompt_tokens), 0) AS p, coalesce(sum(completion_tokens), 0) AS c,
            coalesce(sum(cost_usd), 0) AS cost FROM llm_calls WHERE run_id = $1`,
    [runId],
  );
  const r = rows[0]!;
  return { promptTokens: Number(r.p), completionTokens: Number(r.c), costUsd: Number(r.cost) };
}

/** Token use and cost of many runs in one query; a run without calls maps to zeros. */
export async function usageForRuns(db: Queryable, runIds: string[]): Promise<Map<string, Usage>> {
  const out = new Map<string, Usage>(runIds.map((id) => [id, { promptTokens: 0, completionTokens: 0, costUsd: 0 }]));
  if (runIds.length === 0) return out;
  const { rows } = await db.query<{ run_id: string; p: string; c: string; cost: string }>(
    `SELECT run_id, coalesce(sum(prompt_tokens), 0) AS p, coalesce(sum(completion_tokens), 0) AS c,
            coalesce(sum(cost_usd), 0) AS cost FROM llm_calls WHERE run_id = ANY($1::uuid[]) GROUP BY run_id`,
    [runIds],
  );
  for (const r of rows) {
    out.set(r.run_id, { promptTokens: Number(r.p), completionTokens: Number(r.c), costUsd: Number(r.cost) });
  }
  return out;
}

export async function modelsForRun(db: Queryable, runId: string): Promise<string[]> {
  const { rows } = await db.query<{ model: string }>(
    'SELECT DISTINCT model FROM llm_calls WHERE run_id = $1 ORDER BY model',
    [runId],
  );
  return rows.map((r) => r.model);
}

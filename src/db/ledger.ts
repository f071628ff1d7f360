// The budget ledger: every model call and every execution reserves its estimated cost before it starts and
// settles the measured cost after. A reservation is checked and written in one transaction that locks the
// run's row (and its campaign's), so two workers can never both take the last of a budget.
import {
  overrun,
  ZERO_SPEND,
  type Budget,
  type BudgetExhaustion,
  type BudgetLimit,
  type Spend,
} from '../domain/budget';
import type { OwnerScope } from '../domain/user';
import { transaction, type Queryable, type Transactional } from './types';

export interface Reservation {
  key: string;
  runId: string;
  kind: 'model' | 'execution';
  stage: string;
  model?: string;
  estimate: Spend;
  /** How long the estimate counts if it is never settled (its activity died). */
  ttlMs: number;
  /** Executions only: at most this many of the campaign's executions reserved at once. */
  maxConcurrent?: number;
}

export type ReserveOutcome =
  | { ok: true }
  | { ok: false; exhausted: BudgetExhaustion }
  | { ok: false; busy: { running: number; max: number; scope?: 'user' } }
  /** The owner's quota: `retryAt` is when the oldest spend in the window leaves it. */
  | { ok: false; quota: BudgetExhaustion & { retryAt: string } };

/** The operator's ceiling on one owner's spend in any window of `periodHours`. */
export interface UserQuota {
  budget: Budget;
  periodHours: number;
}

/** What the operator allows each owner, over all their runs and campaigns. */
export interface OwnerLimits {
  quota?: UserQuota;
  /** Executions one owner may have reserved at once (a campaign's own maxConcurrentJobs may be lower). */
  maxExecutions?: number;
}

const SUMS = `coalesce(sum(usd), 0) AS usd, coalesce(sum(tokens), 0) AS tokens,
  coalesce(sum(gpu_hours), 0) AS gpu_hours, coalesce(sum(cpu_hours), 0) AS cpu_hours`;
/** Settled costs, plus reservations still live; this attempt's own earlier reservation is not counted twice. */
const COUNTED = `(state = 'settled' OR expires_at > now())`;

interface SumRow {
  usd: string | number;
  tokens: string | number;
  gpu_hours: string | number;
  cpu_hours: string | number;
}
const toSpend = (r: SumRow | undefined): Spend =>
  r
    ? { usd: Number(r.usd), tokens: Number(r.tokens), gpuHours: Number(r.gpu_hours), cpuHours: Number(r.cpu_hours) }
    : { ...ZERO_SPEND };

export async function reserve(
  db: Transactional,
  r: Reservation,
  defaults: Budget,
  limits: OwnerLimits = {},
): Promise<ReserveOutcome> {
  return transaction(db, async (tx) => {
    const run = (
      await tx.query<{ owner: string; campaign_id: string | null; budget: Budget | null }>(
        'SELECT owner, campaign_id, budget FROM runs WHERE id = $1 FOR UPDATE',
        [r.runId],
      )
    ).rows[0];
    if (!run) throw new Error(`run ${r.runId} does not exist`);
    const campaign = run.campaign_id
      ? (await tx.query<{ budget: Budget }>('SELECT budget FROM campaigns WHERE id = $1 FOR UPDATE', [run.campaign_id]))
          .rows[0]
      : undefined;
    const runSpend = toSpend(
      (
        await tx.query<SumRow>(`SELECT ${SUMS} FROM ledger WHERE run_id = $1 AND key <> $2 AND ${COUNTED}`, [
          r.runId,
          r.key,
        ])
      ).rows[0],
    );
    const runOver = overrun(run.budget ?? defaults, runSpend, r.estimate);
    if (runOver) return { ok: false, exhausted: { scope: 'run', ...runOver } };
    if (campaign) {
      const campaignSpend = toSpend(
        (
          await tx.query<SumRow>(`SELECT ${SUMS} FROM ledger WHERE campaign_id = $1 AND key <> $2 AND ${COUNTED}`, [
            run.campaign_id,
            r.key,
          ])
        ).rows[0],
      );
      const over = overrun(campaign.budget, campaignSpend, r.estimate);
      if (over) return { ok: false, exhausted: { scope: 'campaign', ...over } };
      if (r.maxConcurrent !== undefined) {
        const { rows } = await tx.query<{ n: string }>(
          `SELECT count(*) AS n FROM ledger WHERE campaign_id = $1 AND kind = 'execution' AND state = 'reserved'
             AND expires_at > now() AND key <> $2`,
          [run.campaign_id, r.key],
        );
        const running = Number(rows[0]!.n);
        if (running >= r.maxConcurrent) return { ok: false, busy: { running, max: r.maxConcurrent } };
      }
    }
    const { quota, maxExecutions } = limits;
    // One owner's reservations are checked one at a time (their runs lock different rows).
    if (quota || (maxExecutions !== undefined && r.kind === 'execution'))
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('mlr-owner:' || $1))`, [run.owner]);
    if (maxExecutions !== undefined && r.kind === 'execution') {
      const { rows } = await tx.query<{ n: string }>(
        `SELECT count(*) AS n FROM ledger WHERE owner = $1 AND kind = 'execution' AND state = 'reserved'
           AND expires_at > now() AND key <> $2`,
        [run.owner, r.key],
      );
      const running = Number(rows[0]!.n);
      if (running >= maxExecutions) return { ok: false, busy: { running, max: maxExecutions, scope: 'user' } };
    }
    if (quota) {
      const { rows } = await tx.query<SumRow & { oldest: Date | null }>(
        `SELECT ${SUMS}, min(created_at) AS oldest FROM ledger
          WHERE owner = $1 AND key <> $2 AND created_at > now() - make_interval(hours => $3) AND ${COUNTED}`,
        [run.owner, r.key, quota.periodHours],
      );
      const over = overrun(quota.budget, toSpend(rows[0]), r.estimate);
      if (over) {
        const oldest = rows[0]?.oldest ? new Date(rows[0].oldest).getTime() : Date.now();
        const retryAt = new Date(oldest + quota.periodHours * 3_600_000).toISOString();
        return { ok: false, quota: { scope: 'user', ...over, retryAt } };
      }
    }
    await tx.query(
      `INSERT INTO ledger (key, owner, run_id, campaign_id, kind, stage, model, state, tokens, usd, gpu_hours,
         cpu_hours, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'reserved', $8, $9, $10, $11, now() + make_interval(secs => $12))
       ON CONFLICT (key) DO UPDATE SET state = 'reserved', tokens = $8, usd = $9, gpu_hours = $10, cpu_hours = $11,
         expires_at = now() + make_interval(secs => $12), settled_at = NULL`,
      [
        r.key,
        run.owner,
        r.runId,
        run.campaign_id,
        r.kind,
        r.stage,
        r.model ?? null,
        Math.ceil(r.estimate.tokens),
        r.estimate.usd,
        r.estimate.gpuHours,
        r.estimate.cpuHours,
        r.ttlMs / 1000,
      ],
    );
    return { ok: true };
  });
}

/**
 * Keeps a live reservation counted for `ttlMs` more from now (an execution still queued or running); one that
 * was settled, or has lapsed, stays as it is. Returns whether it was live.
 */
export async function extendReservation(db: Queryable, key: string, ttlMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ledger SET expires_at = now() + make_interval(secs => $2)
     WHERE key = $1 AND state = 'reserved' AND expires_at > now()`,
    [key, ttlMs / 1000],
  );
  return (rowCount ?? 0) > 0;
}

/** Replaces the estimate with the measured cost (zero when the call or execution cost nothing). */
export async function settle(db: Queryable, key: string, actual: Spend): Promise<void> {
  await db.query(
    `UPDATE ledger SET state = 'settled', tokens = $2, usd = $3, gpu_hours = $4, cpu_hours = $5, settled_at = now()
     WHERE key = $1`,
    [key, Math.ceil(actual.tokens), actual.usd, actual.gpuHours, actual.cpuHours],
  );
}

export const runSpend = async (db: Queryable, runId: string): Promise<Spend> =>
  toSpend((await db.query<SumRow>(`SELECT ${SUMS} FROM ledger WHERE run_id = $1 AND ${COUNTED}`, [runId])).rows[0]);

/** `runSpend` of many runs in one query; a run with nothing in the ledger maps to zeros. */
export async function spendOfRuns(db: Queryable, runIds: string[]): Promise<Map<string, Spend>> {
  const out = new Map<string, Spend>(runIds.map((id) => [id, toSpend(undefined)]));
  if (runIds.length === 0) return out;
  const { rows } = await db.query<SumRow & { run_id: string }>(
    `SELECT run_id, ${SUMS} FROM ledger WHERE run_id = ANY($1::uuid[]) AND ${COUNTED} GROUP BY run_id`,
    [runIds],
  );
  for (const r of rows) out.set(r.run_id, toSpend(r));
  return out;
}

export const campaignSpend = async (db: Queryable, campaignId: string): Promise<Spend> =>
  toSpend(
    (await db.query<SumRow>(`SELECT ${SUMS} FROM ledger WHERE campaign_id = $1 AND ${COUNTED}`, [campaignId])).rows[0],
  );

/** Measured spend of many runs at once (settled only), for tables. */
export async function settledSpendByRun(db: Queryable, runIds: string[]): Promise<Map<string, Spend>> {
  if (runIds.length === 0) return new Map();
  const { rows } = await db.query<SumRow & { run_id: string }>(
    `SELECT run_id, ${SUMS} FROM ledger WHERE run_id = ANY($1::uuid[]) AND state = 'settled' GROUP BY run_id`,
    [runIds],
  );
  return new Map(rows.map((r) => [r.run_id, toSpend(r)]));
}

export const SPEND_GROUPS = ['campaign', 'run', 'stage', 'model', 'user', 'kind'] as const;
export type SpendGroup = (typeof SPEND_GROUPS)[number];
const GROUP_COLUMN: Record<SpendGroup, string> = {
  campaign: 'campaign_id::text',
  run: 'run_id::text',
  stage: 'stage',
  model: 'model',
  user: 'owner',
  kind: 'kind',
};

export interface SpendFilter {
  scope: OwnerScope;
  campaignId?: string;
  runId?: string;
  since?: string;
}

/** Settled spend grouped by one dimension (the group column comes from a closed list, never from input). */
export async function spendBy(
  db: Queryable,
  group: SpendGroup,
  f: SpendFilter,
  limit: number,
): Promise<Array<{ key: string | null; spend: Spend }>> {
  const { rows } = await db.query<SumRow & { key: string | null }>(
    `SELECT ${GROUP_COLUMN[group]} AS key, ${SUMS} FROM ledger
     WHERE state = 'settled' AND ($1::text IS NULL OR owner = $1) AND ($2::uuid IS NULL OR campaign_id = $2)
       AND ($3::uuid IS NULL OR run_id = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)
     GROUP BY 1 ORDER BY sum(usd) DESC, 1 LIMIT $5`,
    [f.scope, f.campaignId ?? null, f.runId ?? null, f.since ?? null, limit],
  );
  return rows.map((r) => ({ key: r.key, spend: toSpend(r) }));
}

/** Whether a refused reservation would fit now (after a top-up, or once other reservations lapsed). */
export async function wouldFit(
  db: Queryable,
  where: { runId: string } | { campaignId: string },
  e: { limit: BudgetLimit; requested: number },
  defaults: Budget,
): Promise<boolean> {
  const budget =
    'runId' in where
      ? ((await db.query<{ budget: Budget | null }>('SELECT budget FROM runs WHERE id = $1', [where.runId])).rows[0]
          ?.budget ?? defaults)
      : (await db.query<{ budget: Budget }>('SELECT budget FROM campaigns WHERE id = $1', [where.campaignId])).rows[0]
          ?.budget;
  if (!budget) return false;
  const spend = 'runId' in where ? await runSpend(db, where.runId) : await campaignSpend(db, where.campaignId);
  const cap = budget[e.limit];
  return cap === undefined || spend[e.limit] + e.requested <= cap + 1e-12;
}

import { randomUUID } from 'node:crypto';
import { addBudget, type Budget } from '../domain/budget';
import type { StreamPosition } from '../domain/stream';
import type { OwnerScope } from '../domain/user';
import { BENCHMARK_SIBLINGS, type CampaignInput, type CampaignStatus } from '../domain/campaign-input';
import type { RunInput, RunStatus } from '../domain/run-input';
import { STREAM_COLUMNS, type StreamRow } from './events';
import type { RunRow } from './runs';
import { pgJson, transaction, type Queryable, type Transactional } from './types';

/** What a campaign was asked to do, as stored (its input without carried state). */
export type CampaignSpec = Omit<CampaignInput, 'carry'> & { name: string; runBudget?: Budget; taskId?: string };

export interface CampaignRow {
  id: string;
  owner: string;
  name: string;
  /** A benchmark runs library tasks instead of papers. */
  kind: 'campaign' | 'benchmark';
  workflow_id: string;
  status: CampaignStatus;
  spec: CampaignSpec;
  budget: Budget;
  idempotency_key: string | null;
  request_hash: string;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface CampaignEvent {
  id: string;
  campaign_id: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

/** Inserts a campaign and its first event; with an idempotency key the owner already used, returns that one. */
export async function insertCampaign(
  db: Transactional,
  c: Pick<CampaignRow, 'id' | 'owner' | 'name' | 'workflow_id' | 'spec' | 'budget' | 'request_hash'> & {
    idempotencyKey?: string;
  },
): Promise<{ campaign: CampaignRow; created: boolean }> {
  return transaction(db, async (tx) => {
    const { rows } = await tx.query<CampaignRow>(
      `INSERT INTO campaigns (id, owner, name, workflow_id, status, spec, budget, idempotency_key, request_hash, kind)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9)
       ON CONFLICT (owner, idempotency_key) DO NOTHING RETURNING *`,
      [
        c.id,
        c.owner,
        c.name,
        c.workflow_id,
        pgJson(c.spec),
        pgJson(c.budget),
        c.idempotencyKey ?? null,
        c.request_hash,
        c.spec.taskIds ? 'benchmark' : 'campaign',
      ],
    );
    if (rows[0]) {
      await tx.query('INSERT INTO campaign_events (campaign_id, type, data) VALUES ($1, $2, $3)', [
        c.id,
        'created',
        pgJson({
          ...(c.spec.taskIds ? { tasks: c.spec.taskIds.length } : { papers: c.spec.paperIds.length }),
          runsPerPaper: c.spec.runsPerPaper,
          budget: c.budget,
        }),
      ]);
      return { campaign: rows[0], created: true };
    }
    const existing = await tx.query<CampaignRow>('SELECT * FROM campaigns WHERE owner = $1 AND idempotency_key = $2', [
      c.owner,
      c.idempotencyKey,
    ]);
    return { campaign: existing.rows[0]!, created: false };
  });
}

export async function getCampaign(
  db: Queryable,
  id: string,
  scope: OwnerScope = null,
): Promise<CampaignRow | undefined> {
  const { rows } = await db.query<CampaignRow>(
    'SELECT * FROM campaigns WHERE id = $1 AND ($2::text IS NULL OR owner = $2)',
    [id, scope],
  );
  return rows[0];
}

export async function listCampaigns(
  db: Queryable,
  f: {
    scope: OwnerScope;
    status?: CampaignStatus;
    kind?: CampaignRow['kind'];
    before?: { createdAt: string; id: string };
    limit: number;
  },
): Promise<CampaignRow[]> {
  const { rows } = await db.query<CampaignRow>(
    `SELECT * FROM campaigns WHERE ($1::text IS NULL OR owner = $1) AND ($2::text IS NULL OR status = $2)
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
       AND ($6::text IS NULL OR kind = $6)
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [f.scope, f.status ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit, f.kind ?? null],
  );
  return rows;
}

export async function countActiveCampaigns(db: Queryable, owner: string, final: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM campaigns WHERE owner = $1 AND NOT (status = ANY($2::text[]))',
    [owner, final],
  );
  return Number(rows[0]!.n);
}

/**
 * The status and its event in one statement, and only when the status changes: the workflow records from a
 * local activity, which may run twice.
 */
export async function setCampaignStatus(
  db: Queryable,
  id: string,
  status: CampaignStatus,
  data: Record<string, unknown>,
): Promise<void> {
  await db.query(
    `WITH changed AS (
       UPDATE campaigns SET status = $2, updated_at = now() WHERE id = $1 AND status IS DISTINCT FROM $2 RETURNING id
     )
     INSERT INTO campaign_events (campaign_id, type, data) SELECT id, 'status', $3 FROM changed`,
    [id, status, pgJson({ ...data, status })],
  );
}

/** Adds to the budget under the row's lock (reservations lock it too), and records the top-up. */
export async function topUpCampaignBudget(db: Transactional, id: string, add: Budget): Promise<Budget> {
  return transaction(db, async (tx) => {
    const row = (await tx.query<{ budget: Budget }>('SELECT budget FROM campaigns WHERE id = $1 FOR UPDATE', [id]))
      .rows[0];
    if (!row) throw new Error(`campaign ${id} does not exist`);
    const budget = addBudget(row.budget, add);
    await tx.query('UPDATE campaigns SET budget = $2, updated_at = now() WHERE id = $1', [id, pgJson(budget)]);
    await tx.query('INSERT INTO campaign_events (campaign_id, type, data) VALUES ($1, $2, $3)', [
      id,
      'budget',
      pgJson({ added: add, budget }),
    ]);
    return budget;
  });
}

/**
 * The runs of a batch of slots, created once: a slot that already has a run (an earlier attempt of this
 * activity, or a campaign generation that crashed before starting it) keeps it.
 */
export async function insertCampaignRuns(
  db: Transactional,
  campaign: CampaignRow,
  slots: Array<{ slot: number; input: (runId: string) => RunInput }>,
  runBudget: Budget | undefined,
): Promise<Array<{ slot: number; runId: string }>> {
  return transaction(db, async (tx) => {
    for (const { slot, input } of slots) {
      const id = randomUUID();
      const run = input(id);
      const { rowCount } = await tx.query(
        `INSERT INTO runs (id, owner, paper_id, workflow_id, status, mode, idea_count, approval_timeout, request_hash,
           until, input, campaign_id, campaign_slot, budget, task_id)
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (campaign_id, campaign_slot) WHERE campaign_id IS NOT NULL DO NOTHING`,
        [
          id,
          campaign.owner,
          run.paperId,
          `run-${id}`,
          run.mode,
          run.ideaCount,
          run.approvalTimeout ? pgJson(run.approvalTimeout) : null,
          campaign.request_hash,
          run.until,
          pgJson(run),
          campaign.id,
          slot,
          runBudget ? pgJson(runBudget) : null,
          run.benchmark?.taskId ?? campaign.spec.taskId ?? null,
        ],
      );
      if (rowCount) {
        await tx.query('INSERT INTO run_events (run_id, type, data) VALUES ($1, $2, $3)', [
          id,
          'created',
          pgJson({ campaignId: campaign.id, slot, ideaRank: run.campaign?.ideaRank }),
        ]);
      }
    }
    const { rows } = await tx.query<{ id: string; campaign_slot: number }>(
      'SELECT id, campaign_slot FROM runs WHERE campaign_id = $1 AND campaign_slot = ANY($2::int[])',
      [campaign.id, slots.map((s) => s.slot)],
    );
    await tx.query('INSERT INTO campaign_events (campaign_id, type, data) VALUES ($1, $2, $3)', [
      campaign.id,
      'runs_started',
      pgJson({ runs: rows.map((r) => ({ slot: r.campaign_slot, runId: r.id })) }),
    ]);
    return rows.map((r) => ({ slot: r.campaign_slot, runId: r.id })).sort((a, b) => a.slot - b.slot);
  });
}

/** Status, stopping point and round-0 idea count of some runs: the campaign's check on its messages. */
export async function runProgress(
  db: Queryable,
  runIds: string[],
): Promise<Array<{ id: string; status: RunStatus; until: RunRow['until']; ideas: number }>> {
  if (runIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; status: RunStatus; until: RunRow['until']; ideas: string }>(
    // A benchmark's run (no paper) needs no ideas: its siblings may start as soon as it has.
    `SELECT r.id, r.status, r.until,
       CASE WHEN r.paper_id IS NULL THEN ${BENCHMARK_SIBLINGS} ELSE
         (SELECT count(*) FROM ideas i WHERE i.run_id = r.id AND i.round = 0 AND i.rank IS NOT NULL) END AS ideas
     FROM runs r WHERE r.id = ANY($1::uuid[])`,
    [runIds],
  );
  return rows.map((r) => ({ ...r, ideas: Number(r.ideas) }));
}

export async function runCountsByStatus(
  db: Queryable,
  campaignId: string,
): Promise<Partial<Record<RunStatus, number>>> {
  const { rows } = await db.query<{ status: RunStatus; n: string }>(
    'SELECT status, count(*) AS n FROM runs WHERE campaign_id = $1 GROUP BY status',
    [campaignId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Campaign events of many campaigns after their cursors (the shared SSE poller). */
export async function campaignEventsAfterMany(
  db: Queryable,
  cursors: Array<{ id: string; after: StreamPosition }>,
  limit: number,
): Promise<Array<StreamRow<CampaignEvent> & { stream: string }>> {
  if (cursors.length === 0) return [];
  const { rows } = await db.query<StreamRow<CampaignEvent> & { stream: string }>(
    `SELECT ${STREAM_COLUMNS}, e.campaign_id::text AS stream
     FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS c(id, tx, after)
     JOIN campaign_events e ON e.campaign_id = c.id AND (e.tx, e.id) > (c.tx::xid8, c.after)
     ORDER BY e.tx, e.id LIMIT $4`,
    [cursors.map((c) => c.id), cursors.map((c) => c.after.tx), cursors.map((c) => c.after.id), limit],
  );
  return rows;
}

/** The position of a campaign event id a client last saw (Last-Event-ID), or of the nearest before it. */
export async function campaignEventPosition(db: Queryable, id: number): Promise<StreamPosition> {
  const { rows } = await db.query<{ tx: string; id: string }>(
    'SELECT tx::text AS tx, id FROM campaign_events WHERE id <= $1 ORDER BY id DESC LIMIT 1',
    [id],
  );
  return rows[0] ? { tx: rows[0].tx, id: Number(rows[0].id) } : { tx: '0', id: 0 };
}

export async function campaignStatuses(db: Queryable, ids: string[]): Promise<Array<{ id: string; status: string }>> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string; status: string }>(
    'SELECT id, status FROM campaigns WHERE id = ANY($1::uuid[])',
    [ids],
  );
  return rows;
}

/** The campaign's runs with their paper, chosen idea and validation, in slot order (the leaderboard's input). */
export async function campaignRunRows(
  db: Queryable,
  campaignId: string,
  limit: number,
): Promise<
  Array<{
    id: string;
    slot: number;
    status: string;
    paper_id: string | null;
    paper_title: string | null;
    idea_id: string | null;
    idea_title: string | null;
    task_id: string | null;
    validation: RunRow['validation'];
  }>
> {
  const { rows } = await db.query(
    `SELECT r.id, r.campaign_slot AS slot, r.status, r.paper_id, p.title AS paper_title, r.selected_idea_id AS idea_id,
       i.body->>'title' AS idea_title, r.task_id, r.validation
     FROM runs r LEFT JOIN papers p ON p.id = r.paper_id LEFT JOIN ideas i ON i.id = r.selected_idea_id
     WHERE r.campaign_id = $1 ORDER BY r.campaign_slot LIMIT $2`,
    [campaignId, limit],
  );
  return rows as never;
}

/** Campaigns whose workflow never started (still queued) after the grace period: for the sweeper. */
export async function unstartedCampaigns(db: Queryable, olderThanMs: number, limit = 50): Promise<CampaignRow[]> {
  const { rows } = await db.query<CampaignRow>(
    `SELECT c.* FROM campaigns c WHERE c.status = 'queued'
       AND c.created_at < now() - $1::float8 * interval '1 millisecond'
     ORDER BY c.created_at LIMIT $2`,
    [olderThanMs, limit],
  );
  return rows;
}

export async function campaignByKey(db: Queryable, owner: string, key: string): Promise<CampaignRow | undefined> {
  const { rows } = await db.query<CampaignRow>('SELECT * FROM campaigns WHERE owner = $1 AND idempotency_key = $2', [
    owner,
    key,
  ]);
  return rows[0];
}

/** The workflow input a stored campaign starts with (again, for the sweeper). */
export function campaignInputOf(c: CampaignRow): CampaignInput {
  const { name: _name, runBudget: _runBudget, taskId: _taskId, ...input } = c.spec;
  return input;
}

/** A benchmark's runs with what its scoring needs: task, outcome, measured result, verdict and duration. */
export async function benchmarkRunRows(
  db: Queryable,
  campaignId: string,
): Promise<
  Array<{
    id: string;
    status: RunStatus;
    task_id: string;
    result: RunRow['result'];
    verdict: string | null;
    error_type: string | null;
    wall_seconds: number;
  }>
> {
  const { rows } = await db.query(
    `SELECT id, status, task_id, result, validation->>'verdict' AS verdict, error_type,
       extract(epoch FROM updated_at - created_at)::float8 AS wall_seconds
     FROM runs WHERE campaign_id = $1 ORDER BY campaign_slot`,
    [campaignId],
  );
  return rows as never;
}

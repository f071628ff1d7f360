import type { Queryable } from './types';
import type { Idea, IdeaReview } from '../domain/schemas';

export interface IdeaRow {
  id: string;
  run_id: string;
  round: number;
  position: number;
  rank: number | null;
  review: IdeaReview | null;
  body: Idea;
  created_at: Date;
}

/** Stores one round's ideas once; a retried activity gets the stored rows back. */
export async function insertIdeas(db: Queryable, runId: string, round: number, ideas: Idea[]): Promise<IdeaRow[]> {
  await db.query(
    `INSERT INTO ideas (id, run_id, round, position, body)
     SELECT gen_random_uuid(), $1, $2, b.ord - 1, b.body FROM unnest($3::jsonb[]) WITH ORDINALITY AS b(body, ord)
     ON CONFLICT (run_id, round, position) DO NOTHING`,
    [runId, round, ideas.map((body) => JSON.stringify(body))],
  );
  return ideasForRound(db, runId, round);
}

export async function ideasForRound(db: Queryable, runId: string, round: number): Promise<IdeaRow[]> {
  const { rows } = await db.query<IdeaRow>('SELECT * FROM ideas WHERE run_id = $1 AND round = $2 ORDER BY position', [
    runId,
    round,
  ]);
  return rows;
}

/** The current round's ideas of many runs in one query, for pages of runs: run id → ideas by position. */
export async function ideasForRuns(
  db: Queryable,
  runs: Array<{ id: string; round: number }>,
): Promise<Map<string, IdeaRow[]>> {
  const out = new Map<string, IdeaRow[]>(runs.map((r) => [r.id, []]));
  if (runs.length === 0) return out;
  const { rows } = await db.query<IdeaRow>(
    `SELECT i.* FROM ideas i JOIN unnest($1::uuid[], $2::int[]) AS r(id, round) ON i.run_id = r.id AND i.round = r.round
     ORDER BY i.run_id, i.position`,
    [runs.map((r) => r.id), runs.map((r) => r.round)],
  );
  for (const row of rows) out.get(row.run_id)!.push(row);
  return out;
}

/** Ranks and reviews of a round's ideas in one statement. */
export async function setIdeaRanks(
  db: Queryable,
  ranks: Array<{ id: string; rank: number; review: IdeaReview }>,
): Promise<void> {
  if (ranks.length === 0) return;
  await db.query(
    `UPDATE ideas i SET rank = r.rank, review = r.review
     FROM unnest($1::uuid[], $2::int[], $3::jsonb[]) AS r(id, rank, review) WHERE i.id = r.id`,
    [ranks.map((r) => r.id), ranks.map((r) => r.rank), ranks.map((r) => JSON.stringify(r.review))],
  );
}

export async function getIdea(db: Queryable, id: string): Promise<IdeaRow | undefined> {
  const { rows } = await db.query<IdeaRow>('SELECT * FROM ideas WHERE id = $1', [id]);
  return rows[0];
}

/** Gives a run another run's ranked round-0 ideas as its own round 0 (once; a retry finds them there). */
export async function copyRankedIdeas(db: Queryable, fromRunId: string, toRunId: string): Promise<IdeaRow[]> {
  await db.query(
    `INSERT INTO ideas (id, run_id, round, position, rank, review, body)
     SELECT gen_random_uuid(), $2, 0, position, rank, review, body FROM ideas
     WHERE run_id = $1 AND round = 0 AND rank IS NOT NULL
     ON CONFLICT (run_id, round, position) DO NOTHING`,
    [fromRunId, toRunId],
  );
  return ideasForRound(db, toRunId, 0);
}

/**
 * Replaces the Hub list of an idea's plan (a person's change at approval); false when the idea is not the run's.
 */
export async function setIdeaHub(
  db: Queryable,
  runId: string,
  ideaId: string,
  hub: Array<{ kind: 'model' | 'dataset'; id: string }>,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ideas SET body = jsonb_set(body, '{experimentPlan,hub}', $3::jsonb) WHERE id = $1 AND run_id = $2`,
    [ideaId, runId, JSON.stringify(hub)],
  );
  return rowCount === 1;
}

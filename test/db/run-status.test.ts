// A status change is one statement: the run's row, its events in order and its campaign's progress row appear
// together, and a round's ideas are stored and ranked in one statement each, a retry changing nothing.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { ideasForRound, insertIdeas, setIdeaRanks } from '../../src/db/ideas';
import { insertLlmCall } from '../../src/db/llm-calls';
import { getRunWithPaper, recordStatusChange } from '../../src/db/runs';
import { createTestDatabase } from '../support/harness';

let pool: Pool;
beforeAll(async () => {
  ({ pool } = await createTestDatabase());
});
afterAll(async () => {
  await pool.end();
});

async function newRun(campaignId: string | null = null): Promise<{ run: string; paper: string }> {
  const [paper, run] = [randomUUID(), randomUUID()];
  await pool.query(
    `INSERT INTO papers (id, owner, content_hash, title, format, content, sections, bytes)
     VALUES ($1, 'alice', $2, 'A paper', 'markdown', '# A paper', '[]', 9)`,
    [paper, `hash-${paper}`],
  );
  if (campaignId) {
    await pool.query(
      `INSERT INTO campaigns (id, owner, name, workflow_id, status, spec, budget, request_hash)
       VALUES ($1, 'alice', 'c', $2, 'running', '{}', '{}', 'h')`,
      [campaignId, `campaign-${campaignId}`],
    );
  }
  await pool.query(
    `INSERT INTO runs (id, owner, paper_id, workflow_id, status, mode, idea_count, request_hash, until, input,
       campaign_id) VALUES ($1, 'alice', $2, $3, 'queued', 'supervised', 1, 'h', 'approved', '{}', $4)`,
    [run, paper, `run-${run}`, campaignId],
  );
  return { run, paper };
}

const events = async (runId: string) =>
  (await pool.query('SELECT type, data FROM run_events WHERE run_id = $1 ORDER BY id', [runId])).rows;

it('writes the status, its events in order and the campaign progress row together', async () => {
  const campaign = randomUUID();
  const { run } = await newRun(campaign);
  await recordStatusChange(pool, run, {
    status: 'approved',
    round: 1,
    selectedIdeaId: null,
    error: null,
    errorType: null,
    events: [
      { type: 'status', data: { status: 'approved', round: 1 } },
      { type: 'decision', data: { action: 'approve', ideaId: 'i' } },
    ],
    progress: { status: 'approved' },
  });
  const row = (await pool.query('SELECT status, round FROM runs WHERE id = $1', [run])).rows[0];
  expect(row).toEqual({ status: 'approved', round: 1 });
  expect(await events(run)).toEqual([
    { type: 'status', data: { status: 'approved', round: 1 } },
    { type: 'decision', data: { action: 'approve', ideaId: 'i' } },
  ]);
  const progress = await pool.query('SELECT type, data FROM campaign_events WHERE campaign_id = $1', [campaign]);
  expect(progress.rows).toEqual([{ type: 'run', data: { runId: run, status: 'approved' } }]);
});

it('writes no campaign row for a run outside a campaign, and refuses a run that does not exist', async () => {
  const { run } = await newRun();
  const change = {
    status: 'analyzing' as const,
    round: 0,
    selectedIdeaId: null,
    error: null,
    errorType: null,
    events: [{ type: 'status' as const, data: { status: 'analyzing' } }],
    progress: { status: 'analyzing' },
  };
  await recordStatusChange(pool, run, change);
  expect(await events(run)).toHaveLength(1);
  const ghost = randomUUID();
  await expect(recordStatusChange(pool, ghost, change)).rejects.toThrow(`run ${ghost} does not exist`);
  expect(await events(ghost)).toEqual([]);
});

it('reads a run with its paper in one query, and nothing for a run that does not exist', async () => {
  const { run, paper } = await newRun();
  const found = await getRunWithPaper(pool, run);
  expect(found?.run.id).toBe(run);
  expect(found?.paper).toMatchObject({ id: paper, title: 'A paper', content: '# A paper', sections: [] });
  expect(found?.paper?.created_at).toBeInstanceOf(Date);
  expect(await getRunWithPaper(pool, randomUUID())).toBeUndefined();
});

it('stores a round of ideas in order once and ranks them all in one statement', async () => {
  const { run } = await newRun();
  const idea = (title: string) => ({ title }) as unknown as Parameters<typeof insertIdeas>[3][number];
  const rows = await insertIdeas(pool, run, 0, [idea('a'), idea('b'), idea('c')]);
  expect(rows.map((r) => [r.position, r.body.title])).toEqual([
    [0, 'a'],
    [1, 'b'],
    [2, 'c'],
  ]);
  // A retried activity gets the stored rows back, whatever the model answered the second time.
  const again = await insertIdeas(pool, run, 0, [idea('x')]);
  expect(again.map((r) => r.id)).toEqual(rows.map((r) => r.id));
  await setIdeaRanks(pool, [
    { id: rows[2]!.id, rank: 1, review: { score: 9, critique: 'best' } },
    { id: rows[0]!.id, rank: 2, review: { score: 5, critique: 'ok' } },
    { id: rows[1]!.id, rank: 3, review: { score: 1, critique: 'weak' } },
  ]);
  const ranked = await ideasForRound(pool, run, 0);
  expect(ranked.map((r) => [r.body.title, r.rank, r.review?.critique])).toEqual([
    ['a', 2, 'ok'],
    ['b', 3, 'weak'],
    ['c', 1, 'best'],
  ]);
});

it('records a model call and its llm_call event in one statement, and the call alone when asked', async () => {
  const { run } = await newRun();
  const call = {
    runId: run,
    role: 'analysis',
    model: 'm',
    callKey: 'k',
    requestHash: 'h',
    status: 'ok' as const,
    promptTokens: 10,
    completionTokens: 5,
    costUsd: 0.01,
    latencyMs: 3,
  };
  await insertLlmCall(pool, call, { role: 'analysis', status: 'ok' });
  await insertLlmCall(pool, { ...call, callKey: 'k2' });
  const calls = await pool.query('SELECT call_key FROM llm_calls WHERE run_id = $1 ORDER BY call_key', [run]);
  expect(calls.rows.map((r) => r.call_key)).toEqual(['k', 'k2']);
  expect(await events(run)).toEqual([{ type: 'llm_call', data: { role: 'analysis', status: 'ok' } }]);
});

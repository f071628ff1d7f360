// A page of runs is read in four queries, and each run gets exactly what the one-run queries gave it: the current
// round's ideas, its own usage and spend, its executions and another run's cached baseline.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { experimentsForRuns, startExperiment } from '../../src/db/experiments';
import { ideasForRuns, insertIdeas } from '../../src/db/ideas';
import { spendOfRuns } from '../../src/db/ledger';
import { usageForRuns } from '../../src/db/llm-calls';
import { createTestDatabase } from '../support/harness';

let pool: Pool;
beforeAll(async () => {
  ({ pool } = await createTestDatabase());
});
afterAll(async () => {
  await pool.end();
});

async function newRun(round = 0): Promise<string> {
  const [paper, run] = [randomUUID(), randomUUID()];
  await pool.query(
    `INSERT INTO papers (id, owner, content_hash, title, format, content, sections, bytes)
     VALUES ($1, 'alice', $2, 'P', 'markdown', '# P', '[]', 3)`,
    [paper, `hash-${paper}`],
  );
  await pool.query(
    `INSERT INTO runs (id, owner, paper_id, workflow_id, status, mode, idea_count, request_hash, until, input, round)
     VALUES ($1, 'alice', $2, $3, 'executing', 'autonomous', 1, 'h', 'succeeded', '{}', $4)`,
    [run, paper, `run-${run}`, round],
  );
  return run;
}

const idea = (title: string) => ({ title }) as unknown as Parameters<typeof insertIdeas>[3][number];
const execution = (runId: string, role: 'baseline' | 'candidate') =>
  startExperiment(pool, { runId, key: randomUUID(), role, attempt: 0, taskId: 't', codeHash: 'c', seed: 0 });

it('reads each run of a page its own ideas, usage, spend and executions, a cached baseline included', async () => {
  const [a, b, empty] = [await newRun(1), await newRun(), await newRun()];
  await insertIdeas(pool, a, 0, [idea('old')]);
  await insertIdeas(pool, a, 1, [idea('a1'), idea('a2')]);
  await insertIdeas(pool, b, 0, [idea('b1')]);
  await pool.query(
    `INSERT INTO llm_calls (id, run_id, role, model, call_key, request_hash, status, prompt_tokens, completion_tokens,
       cost_usd, latency_ms) VALUES ($1, $2, 'analysis', 'm', 'k', 'h', 'ok', 10, 5, 0.5, 1),
       ($3, $2, 'review', 'm', 'k2', 'h', 'ok', 1, 1, 0.25, 1)`,
    [randomUUID(), a, randomUUID()],
  );
  await pool.query(
    `INSERT INTO ledger (key, owner, run_id, kind, stage, model, state, tokens, usd, gpu_hours, cpu_hours, expires_at)
     VALUES ('l1', 'alice', $1, 'model', 'analysis', 'm', 'settled', 15, 0.5, 0, 0, now())`,
    [b],
  );
  const baseline = await execution(a, 'baseline');
  const candidate = await execution(b, 'candidate');
  // b measured against a's cached baseline: its view lists that execution too.
  await pool.query(`UPDATE runs SET result = jsonb_build_object('baselineExperimentId', $2::text) WHERE id = $1`, [
    b,
    baseline.id,
  ]);
  const runs = [
    { id: a, round: 1 },
    { id: b, round: 0 },
    { id: empty, round: 0 },
  ];
  const ids = runs.map((r) => r.id);
  const [ideas, usage, spend, experiments] = await Promise.all([
    ideasForRuns(pool, runs),
    usageForRuns(pool, ids),
    spendOfRuns(pool, ids),
    experimentsForRuns(pool, ids),
  ]);
  expect(ideas.get(a)!.map((i) => i.body.title)).toEqual(['a1', 'a2']);
  expect(ideas.get(b)!.map((i) => i.body.title)).toEqual(['b1']);
  expect(ideas.get(empty)).toEqual([]);
  expect(usage.get(a)).toEqual({ promptTokens: 11, completionTokens: 6, costUsd: 0.75 });
  expect(usage.get(empty)).toEqual({ promptTokens: 0, completionTokens: 0, costUsd: 0 });
  expect(spend.get(b)).toMatchObject({ usd: 0.5, tokens: 15 });
  expect(spend.get(a)).toMatchObject({ usd: 0, tokens: 0 });
  expect(experiments.get(a)!.map((e) => e.id)).toEqual([baseline.id]);
  expect(experiments.get(b)!.map((e) => e.id)).toEqual([baseline.id, candidate.id]);
  expect(experiments.get(empty)).toEqual([]);
  expect(await ideasForRuns(pool, [])).toEqual(new Map());
});

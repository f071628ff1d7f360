// A research run against endpoints as they are: a llama.cpp-like server (json_schema refused, "required" tool
// choice ignored) and a forced prompt mode, through the whole stack. Each call records the mode that served it;
// the endpoint's detection is recorded once and shared by every worker.
import { listModelEndpoints } from '../../src/db/model-endpoints';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { startFakeScholar, type FakeScholar } from '../support/fake-scholar';
import { createHarness, type Harness } from '../support/harness';
import { createRun, decide, submitPaper, waitForStatus } from '../support/api';

let llama: FakeModel;
let scholar: FakeScholar;
let h: Harness;
let paperId: string;

beforeAll(async () => {
  [llama, scholar] = await Promise.all([startFakeModel({ server: 'llama-cpp' }), startFakeScholar()]);
  h = await createHarness({ OPENAI_BASE_URL: llama.baseUrl, SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl });
  await h.startWorker();
  await h.startWorker();
  paperId = await submitPaper(h.app);
});

afterAll(async () => {
  await h.close();
  await Promise.all([llama.close(), scholar.close()]);
});

async function modes(runId: string) {
  const calls = await h.pool.query<{ role: string; mode: string }>(
    'SELECT role, mode FROM llm_calls WHERE run_id = $1 ORDER BY created_at',
    [runId],
  );
  return calls.rows;
}

describe('a research run on a llama.cpp-like endpoint', () => {
  it('detects json_object once, serves every call with it, and reaches approval', async () => {
    const run = await createRun(h.app, { paperId, ideaCount: 2 });
    const waiting = await waitForStatus(h.app, run.id, 'awaiting_approval');
    expect(waiting.ideas).toHaveLength(2);
    expect(await modes(run.id)).toEqual([
      { role: 'analysis', mode: 'json_object' },
      { role: 'ideation', mode: 'json_object' },
      { role: 'review', mode: 'json_object' },
    ]);
    const events = await h.pool.query(
      `SELECT DISTINCT data->>'mode' AS mode FROM run_events WHERE run_id = $1 AND type = 'llm_call'`,
      [run.id],
    );
    expect(events.rows).toEqual([{ mode: 'json_object' }]);
    expect(await listModelEndpoints(h.pool)).toEqual([
      expect.objectContaining({
        endpoint: llama.baseUrl,
        model: h.config.MLR_MODEL,
        mode: 'json_object',
        probes: [
          expect.objectContaining({ mode: 'json_schema', outcome: 'refused', status: 500 }),
          { mode: 'json_object', outcome: 'answered' },
        ],
      }),
    ]);
    expect((await decide(h.app, run.id, { decision: 'approve', ideaId: waiting.ideas[0].id })).statusCode).toBe(200);
  });

  it('probes no more once the detection is recorded, whichever worker takes the next run', async () => {
    const before = llama.requestsFor('mode_probe').length;
    const runs = await Promise.all([1, 2].map(() => createRun(h.app, { paperId, ideaCount: 1 })));
    for (const run of runs) await waitForStatus(h.app, run.id, 'awaiting_approval');
    expect(llama.requestsFor('mode_probe').length).toBe(before);
    expect(llama.requests.filter((r) => r.mode === 'json_schema' && r.schemaName !== 'mode_probe')).toEqual([]);
  });

  it('re-asks a schema-shaped answer whose numbers are out of bounds, as a grammar without bounds gives', async () => {
    // The grammar holds the shape, not the bounds: a score of 2019031415173657 on a 1–10 scale.
    const wild = { rankings: [{ index: 0, score: 2019031415173657, critique: 'x' }] };
    llama.enqueue('idea_review', { content: JSON.stringify(wild) });
    const run = await createRun(h.app, { paperId, ideaCount: 2 });
    const waiting = await waitForStatus(h.app, run.id, 'awaiting_approval');
    expect(waiting.ideas).toHaveLength(2);
    const review = await h.pool.query(
      `SELECT status, error, mode FROM llm_calls WHERE run_id = $1 AND role = 'review' ORDER BY created_at`,
      [run.id],
    );
    expect(review.rows.map((r) => [r.status, r.mode])).toEqual([
      ['invalid', 'json_object'],
      ['ok', 'json_object'],
    ]);
    expect(review.rows[0].error).toMatch(/score/);
  });
});

describe('a reply cut at max_tokens', () => {
  it('is re-asked with a reason that says it was cut, not merely that it is not JSON', async () => {
    llama.enqueue('paper_analysis', { content: '{"taskDefinition": {"problem": "Classify tab', truncated: true });
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, run.id, 'awaiting_approval');
    const first = await h.pool.query(
      `SELECT status, error FROM llm_calls WHERE run_id = $1 AND role = 'analysis' ORDER BY created_at LIMIT 1`,
      [run.id],
    );
    expect(first.rows[0].status).toBe('invalid');
    expect(first.rows[0].error).toBe(
      `the reply was cut off at ${h.config.MLR_MODEL_RESERVE_TOKENS} tokens (MLR_MODEL_RESERVE_TOKENS); ` +
        'answer more briefly (the reply is not JSON)',
    );
  });
});

describe('a research run with MLR_LLM_STRUCTURED=prompt', () => {
  it('asks in plain prompts, reads JSON out of prose, and records the mode', async () => {
    const plain = await startFakeModel();
    const own = await createHarness({
      OPENAI_BASE_URL: plain.baseUrl,
      SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl,
      MLR_LLM_STRUCTURED: 'prompt',
    });
    try {
      await own.startWorker();
      const paper = await submitPaper(own.app);
      plain.respond('paper_analysis', (req) => ({
        content: `Here is the analysis you asked for:\n\`\`\`json\n${JSON.stringify({
          taskDefinition: { problem: 'p', inputs: 'i', outputs: 'o', datasets: ['d'], metrics: ['m'] },
          gaps: [{ gap: 'g', evidence: 'e' }],
          keywords: ['k'],
        })}\n\`\`\`\nHope this helps. ${req.mode}`,
      }));
      const run = await createRun(own.app, { paperId: paper, ideaCount: 1 });
      const waiting = await waitForStatus(own.app, run.id, 'awaiting_approval');
      expect(waiting.taskDefinition.problem).toBe('p');
      const calls = await own.pool.query('SELECT DISTINCT mode FROM llm_calls WHERE run_id = $1', [run.id]);
      expect(calls.rows).toEqual([{ mode: 'prompt' }]);
      expect(plain.requestsFor('mode_probe')).toEqual([]);
      expect(await listModelEndpoints(own.pool)).toEqual([]);
    } finally {
      await own.close();
      await plain.close();
    }
  });
});

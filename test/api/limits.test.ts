// Limits on spend and load, through HTTP against the real stack.
import { analysisReply, startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { SAMPLE_PAPER, createRun, submitPaper, waitForStatus } from '../support/api';

let model: FakeModel;
let h: Harness;
let paperId: string;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    MLR_MAX_ACTIVE_RUNS_PER_USER: '2',
    MLR_MAX_FEEDBACK_PER_RUN: '1',
    MLR_MAX_VALIDATION_SEEDS: '7',
    MLR_RATE_LIMIT_PER_MINUTE: '40',
    MLR_API_TOKENS: 'test-token-0123456789,quick=tok-quick-0123456789,camp=tok-camp-0123456789',
  });
  await h.startWorker();
  paperId = await submitPaper(h.app);
});
afterAll(async () => {
  await h.close();
  await model.close();
});

describe('limits', () => {
  it('caps validationSeeds at MLR_MAX_VALIDATION_SEEDS with a 400 naming the field', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId, validationSeeds: 8 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/validationSeeds must be <= 7/);
  });

  it('refuses fewer seeds than the exact test needs to say yes, for runs and benchmarks, naming the minimum', async () => {
    const run = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId, validationSeeds: 3 },
    });
    expect([run.statusCode, run.json().error.message]).toEqual([400, 'body/validationSeeds must be >= 4']);
    const bench = await h.app.inject({
      method: 'POST',
      url: '/v1/benchmarks',
      headers: AUTH,
      payload: { tasks: ['breast-cancer'], validationSeeds: 2, budget: { usd: 1 } },
    });
    expect([bench.statusCode, bench.json().error.message]).toEqual([400, 'body/validationSeeds must be >= 4']);
  });

  it('refuses an executor this service has not enabled, with a 400 that says which are', async () => {
    for (const executor of ['kubernetes', 'slurm']) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/v1/runs',
        headers: AUTH,
        payload: { paperId, executor },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/executor/);
    }
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId, executor: 'kubernetes' },
    });
    expect(res.json().error).toMatchObject({ code: 'ExecutorUnavailable' });
    expect(res.json().error.message).toMatch(/enabled: local \(MLR_EXECUTORS\)/);
  });

  it('caps the runs one user has in progress with 429, and a replayed key still answers', async () => {
    const a = await createRun(h.app, { paperId, ideaCount: 1 }, { 'idempotency-key': 'cap-a' });
    await createRun(h.app, { paperId, ideaCount: 1 });
    const third = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId, ideaCount: 1, until: 'approved' },
    });
    expect(third.statusCode).toBe(429);
    expect(third.json().error.code).toBe('TooManyActiveRuns');
    expect(third.headers['retry-after']).toBeDefined();
    const replay = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { ...AUTH, 'idempotency-key': 'cap-a' },
      payload: { paperId, ideaCount: 1, until: 'approved' },
    });
    expect([replay.statusCode, replay.json().id]).toEqual([201, a.id]);
    // Finishing one frees a slot.
    await waitForStatus(h.app, a.id, 'awaiting_approval');
    await h.app.inject({
      method: 'POST',
      url: `/v1/runs/${a.id}/approval`,
      headers: AUTH,
      payload: { decision: 'reject' },
    });
    await waitForStatus(h.app, a.id, 'rejected');
    const next = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId, ideaCount: 1, until: 'approved' },
    });
    expect(next.statusCode).toBe(201);
  });

  it("counts a user's campaign runs against the same cap, for runs and for campaigns", async () => {
    const camp = { authorization: 'Bearer tok-camp-0123456789' };
    const paper = async (title: string) =>
      (
        await h.app.inject({
          method: 'POST',
          url: '/v1/papers',
          headers: camp,
          payload: { content: SAMPLE_PAPER.replace(/^# .*$/m, `# ${title}`), format: 'markdown' },
        })
      ).json().id as string;
    const papers = [await paper('Cap one'), await paper('Cap two')];
    const campaign = await h.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: camp,
      payload: { name: 'Fills the cap', paperIds: papers, ideaCount: 1, budget: { usd: 5 } },
    });
    expect(campaign.statusCode).toBe(201);
    const id = campaign.json().id as string;
    // Both of its runs at the approval gate: two runs in progress, the cap.
    for (let waited = 0; ; waited += 250) {
      const runs = (await h.app.inject({ method: 'GET', url: `/v1/runs?campaignId=${id}`, headers: camp })).json()
        .items as Array<{ status: string }>;
      if (runs.length === 2 && runs.every((r) => r.status === 'awaiting_approval')) break;
      if (waited > 60_000) throw new Error(`campaign runs never reached approval: ${JSON.stringify(runs)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const run = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: camp,
      payload: { paperId: papers[0], ideaCount: 1 },
    });
    expect([run.statusCode, run.json().error.code]).toEqual([429, 'TooManyActiveRuns']);
    const another = await h.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: camp,
      payload: { name: 'One too many', paperIds: papers, ideaCount: 1, budget: { usd: 5 } },
    });
    expect([another.statusCode, another.json().error.code]).toEqual([429, 'TooManyActiveRuns']);
    expect(another.json().error.message).toMatch(/your campaigns' included/);
    await h.app.inject({ method: 'POST', url: `/v1/campaigns/${id}/cancel`, headers: camp });
  });

  it("refuses feedback into a benchmark's run, and writes nothing", async () => {
    const { rows } = await h.pool.query<{ id: string }>(
      `SELECT id FROM runs WHERE owner = 'default' AND status = 'awaiting_approval' LIMIT 1`,
    );
    const id = rows[0]!.id;
    const before = await h.pool.query('SELECT input FROM runs WHERE id = $1', [id]);
    await h.pool.query(
      `UPDATE runs SET status = 'implementing',
         input = jsonb_set(input, '{benchmark}', '{"taskId": "breast-cancer", "profile": "mlab"}') WHERE id = $1`,
      [id],
    );
    try {
      const res = await h.app.inject({
        method: 'POST',
        url: `/v1/runs/${id}/feedback`,
        headers: AUTH,
        payload: { message: 'try a random forest' },
      });
      expect([res.statusCode, res.json().error.code]).toEqual([409, 'BenchmarkRun']);
      const events = await h.pool.query(`SELECT 1 FROM run_events WHERE run_id = $1 AND type = 'feedback_received'`, [
        id,
      ]);
      expect(events.rowCount).toBe(0);
    } finally {
      await h.pool.query(`UPDATE runs SET status = 'awaiting_approval', input = $2 WHERE id = $1`, [
        id,
        before.rows[0].input,
      ]);
    }
  });

  it('caps feedback notes per run', async () => {
    const { rows } = await h.pool.query<{ id: string }>(
      `SELECT id FROM runs WHERE owner = 'default' AND status = 'awaiting_approval' LIMIT 1`,
    );
    const id = rows[0]!.id;
    // Feedback is for the experiment stage; put this waiting run there as far as the API can see.
    await h.pool.query(`UPDATE runs SET status = 'implementing' WHERE id = $1`, [id]);
    const first = await h.app.inject({
      method: 'POST',
      url: `/v1/runs/${id}/feedback`,
      headers: AUTH,
      payload: { message: 'one' },
    });
    expect(first.statusCode).toBe(202);
    const second = await h.app.inject({
      method: 'POST',
      url: `/v1/runs/${id}/feedback`,
      headers: AUTH,
      payload: { message: 'two' },
    });
    expect(second.statusCode).toBe(409);
    expect(second.json().error.code).toBe('FeedbackLimit');
  });

  it('counts a model answer without usage as an estimate, never as 0 tokens', async () => {
    const quick = { authorization: 'Bearer tok-quick-0123456789' };
    const other = (
      await h.app.inject({
        method: 'POST',
        url: '/v1/papers',
        headers: quick,
        payload: { content: SAMPLE_PAPER, format: 'markdown' },
      })
    ).json().id;
    // The queued reply must reach this run's analysis, not a run of the test before that is still analysing.
    for (
      let i = 0;
      i < 300 && (await h.pool.query(`SELECT 1 FROM runs WHERE status IN ('queued', 'analyzing')`)).rowCount;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    model.enqueue('paper_analysis', { content: analysisReply(), noUsage: true });
    const run = (
      await h.app.inject({
        method: 'POST',
        url: '/v1/runs',
        headers: quick,
        payload: { paperId: other, ideaCount: 1, until: 'approved' },
      })
    ).json();
    for (
      let i = 0;
      i < 300 &&
      (await h.pool.query(`SELECT status FROM runs WHERE id = $1`, [run.id])).rows[0].status !== 'awaiting_approval';
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const { rows } = await h.pool.query(
      `SELECT prompt_tokens, completion_tokens, usage_estimated FROM llm_calls WHERE run_id = $1 AND role = 'analysis'`,
      [run.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].usage_estimated).toBe(true);
    expect(rows[0].prompt_tokens).toBeGreaterThan(100);
    expect(rows[0].completion_tokens).toBeGreaterThan(50);
  });
  it('rate-limits each user separately with 429 and Retry-After, and never the probes', async () => {
    const quick = { authorization: 'Bearer tok-quick-0123456789' };
    const codes: number[] = [];
    for (let i = 0; i < 45; i++)
      codes.push((await h.app.inject({ method: 'GET', url: '/v1/papers', headers: quick })).statusCode);
    // 40 a minute: this user already made 2 requests in the test before.
    expect(codes.slice(0, 38).every((c) => c === 200)).toBe(true);
    expect(codes.slice(38).every((c) => c === 429)).toBe(true);
    const limited = await h.app.inject({ method: 'GET', url: '/v1/papers', headers: quick });
    expect(limited.json().error.code).toBe('RateLimited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another user, and the public probes, are unaffected.
    expect((await h.app.inject({ method: 'GET', url: '/v1/papers', headers: AUTH })).statusCode).toBe(200);
    for (let i = 0; i < 50; i++) expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

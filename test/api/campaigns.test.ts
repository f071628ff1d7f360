// Campaigns end to end on the real stack (Temporal, Postgres, the sandboxed executor) with the stand-in model
// and Semantic Scholar: several papers to validated reports, budget exhaustion mid-experiment and a top-up,
// cancel, webhooks, the event stream, the leaderboard and the report.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SAMPLE_PAPER, decide, submitPaper, waitForStatus, type Json } from '../support/api';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { startFakeScholar, type FakeScholar } from '../support/fake-scholar';
import { buildApp } from '../../src/api/app';
import { sweepQueuedRuns } from '../../src/api/sweeper';
import { createRunGateway } from '../../src/clients/temporal';
import { createFsArtifactStore } from '../../src/experiments/artifacts';
import { AUTH, createHarness, testTimeouts, type Harness } from '../support/harness';

const SECRET = 'webhook-secret-for-tests';
const EXEC_TIMEOUT_MS = 120_000;
let model: FakeModel;
let scholar: FakeScholar;
let h: Harness;
let hooks: http.Server;
const deliveries: Array<{ event: string; id: string; body: Json; valid: boolean }> = [];
let papers: string[];

beforeAll(async () => {
  hooks = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const sig = String(req.headers['x-mlr-signature'] ?? '');
      const t = /t=(\d+)/.exec(sig)?.[1];
      const v1 = /v1=([0-9a-f]+)/.exec(sig)?.[1];
      const expected = createHmac('sha256', SECRET).update(`${t}.${raw}`).digest('hex');
      deliveries.push({
        event: String(req.headers['x-mlr-event']),
        id: String(req.headers['x-mlr-delivery']),
        body: JSON.parse(raw),
        valid: v1 === expected,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  model = await startFakeModel();
  scholar = await startFakeScholar();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl,
    MLR_VALIDATION_PARALLELISM: '2',
    MLR_EXEC_TIMEOUT_MS: String(EXEC_TIMEOUT_MS),
    // Executions cost USD, so a USD budget can run out mid-experiment.
    MLR_CPU_HOUR_USD: '1',
    MLR_WEBHOOK_URL: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`,
    MLR_WEBHOOK_SECRET: SECRET,
  });
  await h.startWorker();
  papers = [await submitPaper(h.app), await submitPaper(h.app, SAMPLE_PAPER.replace('iris', 'wine'))];
}, 120_000);

afterAll(async () => {
  await h.close();
  await model.close();
  await scholar.close();
  await new Promise((r) => hooks.close(r));
});

async function call(method: 'GET' | 'POST', url: string, payload?: object) {
  return h.app.inject({ method, url, headers: AUTH, ...(payload ? { payload } : {}) });
}

/** Statuses in which a run works (computes or calls a model); `approved` is a decision, not work. */
const WORKING = ['analyzing', 'retrieving', 'ideating', 'implementing', 'executing', 'debugging', 'validating'];

async function waitForCampaign(id: string, ok: (c: Json) => boolean, timeoutMs = 240_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  let c: Json;
  while (Date.now() < deadline) {
    c = (await call('GET', `/v1/campaigns/${id}`)).json();
    if (ok(c)) return c;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`campaign ${id} stuck: ${JSON.stringify({ status: c?.status, runs: c?.runs })}`);
}

const campaignRuns = async (id: string): Promise<Json[]> =>
  (await call('GET', `/v1/runs?campaignId=${id}&limit=100`)).json().items;

describe('a research campaign', () => {
  it("takes two papers, two ideas each, to validated reports, paying for each paper's ideas once", async () => {
    const res = await call('POST', '/v1/campaigns', {
      name: 'Scaling study',
      paperIds: papers,
      runsPerPaper: 2,
      mode: 'autonomous',
      taskId: 'breast-cancer',
      validationSeeds: 4,
      maxConcurrentRuns: 2,
      budget: { usd: 100 },
    });
    expect(res.statusCode).toBe(201);
    const id = res.json().id;
    expect(res.json().runs.total).toBe(4);
    const done = await waitForCampaign(id, (c) => c.status === 'completed');
    expect((await campaignRuns(id)).map((r: Json) => r.error)).toEqual([null, null, null, null]);
    expect(done.runs).toEqual({ total: 4, created: 4, byStatus: { succeeded: 4 } });
    expect(done.results).toHaveLength(4);
    for (const r of done.results) {
      expect(['supported', 'not_supported', 'inconclusive']).toContain(r.verdict);
      expect(r.effect.ci95[0]).toBeLessThanOrEqual(r.effect.estimate);
      expect(r.effect.ci95[1]).toBeGreaterThanOrEqual(r.effect.estimate);
      expect(typeof r.pValue).toBe('number');
      expect(r.seeds).toBe(4);
      expect(r.cost.usd).toBeGreaterThan(0);
    }
    expect(done.spend.usd).toBeGreaterThan(0);
    expect(done.spend.usd).toBeCloseTo(
      done.results.reduce((s: number, r: Json) => s + r.cost.usd, 0),
      9,
    );

    const runs = await campaignRuns(id);
    expect(runs).toHaveLength(4);
    // Run i of a paper carries its i-th ranked idea; the second run adopted the first's analysis and ideas.
    for (const paperId of papers) {
      const mine = runs
        .filter((r: Json) => r.paperId === paperId)
        .sort((a: Json, b: Json) => a.campaign.slot - b.campaign.slot);
      expect(mine.map((r: Json) => r.campaign.ideaRank)).toEqual([1, 2]);
      expect(mine[0].ideas.find((i: Json) => i.rank === 1).title).toBe(
        mine[0].ideas.find((i: Json) => i.id === mine[0].selectedIdeaId).title,
      );
      const second = mine[1].ideas.find((i: Json) => i.id === mine[1].selectedIdeaId);
      expect(second.rank).toBe(2);
    }
    const analyses = await h.pool.query(
      `SELECT count(*)::int AS n FROM llm_calls c JOIN runs r ON r.id = c.run_id
       WHERE r.campaign_id = $1 AND c.role IN ('analysis', 'ideation', 'review')`,
      [id],
    );
    expect(analyses.rows[0].n).toBe(6); // 2 papers × (analysis, ideation, review)
    const reserved = await h.pool.query(
      `SELECT count(*)::int AS n FROM ledger WHERE campaign_id = $1 AND state = 'reserved'`,
      [id],
    );
    expect(reserved.rows[0].n).toBe(0);

    const md = await call('GET', `/v1/campaigns/${id}/report`);
    expect(md.headers['content-type']).toMatch(/text\/markdown/);
    expect(md.body).toMatch(/^# Campaign report: Scaling study/);
    expect(md.body).toContain('| Paper | Idea | Task | Verdict | Adjusted verdict | Effect (95% CI) | p | p (Holm) |');
    // Four comparisons: each p adjusted for all four (Holm), never below the raw one.
    for (const r of done.results) expect(r.pAdjusted).toBeGreaterThanOrEqual(r.pValue);
    expect(Math.min(...done.results.map((r: Json) => r.pAdjusted))).toBeCloseTo(
      Math.min(1, 4 * Math.min(...done.results.map((r: Json) => r.pValue))),
      12,
    );
    const json = (await call('GET', `/v1/campaigns/${id}/report?format=json`)).json();
    expect(json.results).toEqual(done.results);
    const svg = await call('GET', `/v1/campaigns/${id}/report?format=svg`);
    expect(svg.headers['content-type']).toMatch(/image\/svg\+xml/);
    expect(svg.body.match(/<circle /g)).toHaveLength(4);
    const html = await call('GET', `/v1/campaigns/${id}/report?format=html`);
    expect(html.body).toContain('<svg');

    const byStage = (await call('GET', `/v1/spend?by=stage&campaignId=${id}`)).json();
    expect(byStage.items.map((i: Json) => i.key)).toEqual(
      expect.arrayContaining(['baseline', 'candidate', 'agent', 'analysis', 'ideation', 'review']),
    );
    const byModel = (await call('GET', `/v1/spend?by=model&campaignId=${id}`)).json();
    expect(byModel.items.find((i: Json) => i.key === 'fake-model').spend.tokens).toBeGreaterThan(0);

    // The event stream of a finished campaign replays its events and ends.
    const stream = await call('GET', `/v1/campaigns/${id}/events`);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.body).toContain('event: runs_started');
    expect(stream.body).toMatch(/event: status\ndata: \{[^\n]*"status":"completed"/);

    const mine = deliveries.filter(
      (d) => d.body.data.campaign?.id === id || runs.some((r: Json) => r.id === d.body.data.run?.id),
    );
    expect(mine.every((d) => d.valid)).toBe(true);
    expect(mine.filter((d) => d.event === 'run.finished')).toHaveLength(4);
    await waitFor(() => deliveries.some((d) => d.event === 'campaign.done' && d.body.data.campaign.id === id));
    expect(
      deliveries.find((d) => d.event === 'campaign.done' && d.body.data.campaign.id === id)!.body.data.campaign,
    ).toMatchObject({ status: 'completed', runs: { succeeded: 4 } });
  }, 300_000);

  it('parks a run in awaiting_budget mid-experiment when the campaign budget is spent, and a top-up lets it finish', async () => {
    // Half of one execution's reservation (its timeout at 1 USD per CPU-hour): the model calls (priced at 0)
    // go through, the first execution (the candidate; the baseline is cached by an earlier run) does not.
    const oneExecution = EXEC_TIMEOUT_MS / 3_600_000;
    const budget = oneExecution / 2;
    const res = await call('POST', '/v1/campaigns', {
      name: 'Tight budget',
      paperIds: [papers[0]],
      mode: 'autonomous',
      taskId: 'breast-cancer',
      until: 'measured',
      budget: { usd: budget },
    });
    expect(res.statusCode).toBe(201);
    const id = res.json().id;
    const parked = await waitForCampaign(id, (c) => c.status === 'awaiting_budget', 120_000);
    const [run] = await campaignRuns(id);
    expect(run.status).toBe('awaiting_budget');
    expect(run.error).toMatch(/campaign's USD budget is spent/);
    expect(run.experiments.filter((e: Json) => e.role === 'candidate')).toEqual([]);
    expect(parked.spend.usd).toBe(0);
    await waitFor(() => deliveries.some((d) => d.event === 'budget.exhausted' && d.body.data.campaign?.id === id));

    const bad = await call('POST', `/v1/campaigns/${id}/budget`, { usd: -1 });
    expect(bad.statusCode).toBe(400);
    const topped = await call('POST', `/v1/campaigns/${id}/budget`, { usd: 10 });
    expect(topped.statusCode).toBe(200);
    expect(topped.json().budget.usd).toBeCloseTo(budget + 10, 9);
    const finished = await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    expect(finished.experiments.filter((e: Json) => e.role === 'candidate')).toHaveLength(1);
    expect(finished.result).not.toBeNull();
    const done = await waitForCampaign(id, (c) => c.status === 'completed');
    expect(done.runs.byStatus).toEqual({ succeeded: 1 });
    const statuses = await h.pool.query(
      `SELECT data->>'status' AS s FROM run_events WHERE run_id = $1 AND type = 'status' ORDER BY id`,
      [run.id],
    );
    expect(statuses.rows.map((r) => r.s)).toEqual(
      expect.arrayContaining(['executing', 'awaiting_budget', 'awaiting_slot', 'succeeded']),
    );
  }, 300_000);

  it('never has more runs working than maxConcurrentRuns, in the record, as approved runs come back', async () => {
    const third = await submitPaper(h.app, SAMPLE_PAPER.replace('iris', 'digits'));
    const res = await call('POST', '/v1/campaigns', {
      name: 'Window',
      paperIds: [...papers, third],
      mode: 'supervised',
      ideaCount: 1,
      taskId: 'breast-cancer',
      until: 'measured',
      maxConcurrentRuns: 2,
      budget: { usd: 100 },
    });
    expect(res.statusCode).toBe(201);
    const id = res.json().id;
    // Runs waiting for a decision give their place up, so the third paper starts; then all three are approved.
    await waitFor(async () => {
      const runs = await campaignRuns(id);
      return runs.length === 3 && runs.every((r: Json) => r.status === 'awaiting_approval');
    }, 120_000);
    for (const r of await campaignRuns(id))
      expect((await decide(h.app, r.id, { decision: 'approve' })).statusCode).toBe(200);
    const done = await waitForCampaign(id, (c) => c.status === 'completed');
    expect(done.runs.byStatus).toEqual({ succeeded: 3 });

    // Every status every run recorded, in commit order: replayed, at no point are three runs working.
    const events = await h.pool.query(
      `SELECT e.run_id, e.data->>'status' AS status FROM run_events e JOIN runs r ON r.id = e.run_id
       WHERE r.campaign_id = $1 AND e.type = 'status' ORDER BY e.tx, e.id`,
      [id],
    );
    const now = new Map<string, string>();
    let most = 0;
    for (const e of events.rows) {
      now.set(e.run_id, e.status);
      most = Math.max(most, [...now.values()].filter((s) => WORKING.includes(s)).length);
    }
    expect(most).toBe(2);
    // Each approved run asked for its place. Two places for three runs: at least one worked only once another
    // run had ended.
    const rows: Array<{ run_id: string; status: string }> = events.rows;
    const asked = rows.filter((e) => e.status === 'awaiting_slot').map((e) => e.run_id);
    expect(new Set(asked).size).toBe(3);
    const backToWork = asked.map((runId) =>
      rows.findIndex(
        (e, i) =>
          e.run_id === runId &&
          i > rows.findIndex((x) => x.run_id === runId && x.status === 'awaiting_slot') &&
          WORKING.includes(e.status),
      ),
    );
    const firstEnd = rows.findIndex((e) => e.status === 'succeeded');
    expect(backToWork.filter((i) => i > firstEnd).length).toBeGreaterThanOrEqual(1);
  }, 300_000);

  it('cancels its running runs and their executions when cancelled', async () => {
    model.enqueue('agent', {
      tool: 'write_file',
      args: { file_name: 'slow.py', content: 'import time\ntime.sleep(300)\n' },
    });
    model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'slow.py' } });
    const res = await call('POST', '/v1/campaigns', {
      name: 'To cancel',
      paperIds: [papers[1]],
      mode: 'autonomous',
      taskId: 'breast-cancer',
      budget: { usd: 100 },
    });
    const id = res.json().id;
    let run: Json;
    await waitFor(async () => {
      [run] = await campaignRuns(id);
      return !!run?.experiments?.some((e: Json) => e.role === 'agent' && e.status === 'running');
    }, 120_000);
    const cancel = await call('POST', `/v1/campaigns/${id}/cancel`);
    expect(cancel.statusCode).toBe(202);
    const done = await waitForCampaign(id, (c) => c.status === 'cancelled');
    expect(done.runs.byStatus).toEqual({ cancelled: 1 });
    await waitForStatus(h.app, run!.id, 'cancelled');
    await waitFor(async () => {
      const { rows } = await h.pool.query(`SELECT status FROM experiments WHERE run_id = $1 AND role = 'agent'`, [
        run!.id,
      ]);
      return rows.length > 0 && rows.every((r) => r.status !== 'running');
    });
    expect((await call('POST', `/v1/campaigns/${id}/cancel`)).statusCode).toBe(409);
  }, 300_000);
});

describe('campaign requests', () => {
  it('keeps a campaign whose workflow could not start (202, queued), and the sweeper starts it', async () => {
    const down = await buildApp({
      config: h.config,
      db: h.pool,
      runTimeouts: testTimeouts,
      store: createFsArtifactStore(h.config.MLR_DATA_DIR),
      gateway: {
        ...createRunGateway(h.client, h.config.MLR_TASK_QUEUE),
        startCampaign: async () => {
          throw new Error('14 UNAVAILABLE: connection refused');
        },
      },
    });
    try {
      const res = await down.inject({
        method: 'POST',
        url: '/v1/campaigns',
        headers: AUTH,
        payload: { name: 'Later', paperIds: [papers[0]], until: 'approved', mode: 'autonomous', budget: { usd: 1 } },
      });
      expect(res.statusCode).toBe(202);
      expect(res.headers['retry-after']).toBe('30');
      expect(res.json().status).toBe('queued');
      const gateway = createRunGateway(h.client, h.config.MLR_TASK_QUEUE);
      expect(await sweepQueuedRuns(h.pool, gateway, undefined, 0)).toBeGreaterThanOrEqual(1);
      const done = await waitForCampaign(res.json().id, (c) => c.status === 'completed', 60_000);
      expect(done.runs.byStatus).toEqual({ approved: 1 });
    } finally {
      await down.close();
    }
  });

  it('answers bad requests with a clear 4xx and creates nothing', async () => {
    const before = (await h.pool.query('SELECT count(*)::int AS n FROM campaigns')).rows[0].n;
    const cases: Array<[object, number, string]> = [
      [{ name: 'x', paperIds: [papers[0]] }, 400, 'InvalidRequest'], // no budget
      [{ name: 'x', paperIds: [], budget: { usd: 1 } }, 400, 'InvalidRequest'],
      [{ name: 'x', paperIds: [papers[0], papers[0]], budget: { usd: 1 } }, 400, 'InvalidRequest'],
      [{ name: 'x', paperIds: [papers[0]], budget: {} }, 400, 'InvalidRequest'],
      [{ name: 'x', paperIds: [papers[0]], runsPerPaper: 4, ideaCount: 2, budget: { usd: 1 } }, 422, 'TooFewIdeas'],
      [
        { name: 'x', paperIds: [papers[0]], deadline: '2001-01-01T00:00:00Z', budget: { usd: 1 } },
        422,
        'DeadlinePassed',
      ],
      [{ name: 'x', paperIds: ['00000000-0000-4000-8000-000000000000'], budget: { usd: 1 } }, 404, 'NotFound'],
      [{ name: 'x', paperIds: [papers[0]], taskId: 'nope', budget: { usd: 1 } }, 422, 'UnknownTask'],
      [{ name: 'x', paperIds: [papers[0]], executor: 'kubernetes', budget: { usd: 1 } }, 400, 'ExecutorUnavailable'],
      // Within the schema's bounds, beyond the operator's ceilings for one execution (MLR_MAX_EXEC_*).
      [{ name: 'x', paperIds: [papers[0]], resources: { gpus: 64 }, budget: { usd: 1 } }, 422, 'ResourcesOverLimit'],
      [{ name: 'x', paperIds: [papers[0]], resources: { cpu: 256 }, budget: { usd: 1 } }, 422, 'ResourcesOverLimit'],
      [
        { name: 'x', paperIds: [papers[0]], resources: { memoryMb: 4_194_304 }, budget: { usd: 1 } },
        422,
        'ResourcesOverLimit',
      ],
    ];
    for (const [body, status, code] of cases) {
      const res = await call('POST', '/v1/campaigns', body);
      expect({ body, status: res.statusCode, code: res.json().error.code }).toEqual({ body, status, code });
    }
    const gpus = await call('POST', '/v1/campaigns', {
      name: 'x',
      paperIds: [papers[0]],
      resources: { gpus: 9 },
      budget: { usd: 1 },
    });
    expect(gpus.json().error.message).toBe(
      'body/resources/gpus 9 is more than one execution may have here: at most 8 (MLR_MAX_EXEC_GPUS)',
    );
    expect((await h.pool.query('SELECT count(*)::int AS n FROM campaigns')).rows[0].n).toBe(before);
  });

  it("hides another user's campaign and refuses requests without a token", async () => {
    const res = await call('POST', '/v1/campaigns', {
      name: 'Mine',
      paperIds: [papers[0]],
      until: 'approved',
      budget: { tokens: 1_000_000 },
    });
    const id = res.json().id;
    const other = await h.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${id}`,
      headers: { authorization: 'Bearer nope' },
    });
    expect(other.statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: `/v1/campaigns/${id}/events` })).statusCode).toBe(401);
    const listed = (await call('GET', '/v1/campaigns')).json().items.map((c: Json) => c.id);
    expect(listed).toContain(id);
    await call('POST', `/v1/campaigns/${id}/cancel`);
  });

  it('replays a request with the same Idempotency-Key and refuses the key with another body', async () => {
    const body = { name: 'Once', paperIds: [papers[0]], until: 'approved', budget: { usd: 1 } };
    const headers = { ...AUTH, 'idempotency-key': 'campaign-once' };
    const first = await h.app.inject({ method: 'POST', url: '/v1/campaigns', headers, payload: body });
    const again = await h.app.inject({ method: 'POST', url: '/v1/campaigns', headers, payload: body });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const other = await h.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers,
      payload: { ...body, name: 'Twice' },
    });
    expect(other.statusCode).toBe(409);
    await call('POST', `/v1/campaigns/${first.json().id}/cancel`);
  });
});

async function waitFor(ok: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('condition not met in time');
}

import { buildApp } from '../../src/api/app';
import { sweepQueuedRuns } from '../../src/api/sweeper';
import { createRunGateway } from '../../src/clients/temporal';
import { createFsArtifactStore } from '../../src/experiments/artifacts';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, testTimeouts, type Harness } from '../support/harness';
import { createRun, submitPaper, waitForStatus } from '../support/api';

let model: FakeModel;
let h: Harness;
let paperId: string;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl });
  await h.startWorker();
  paperId = await submitPaper(h.app);
});
afterAll(async () => {
  await h.close();
  await model.close();
});

describe('POST /v1/runs', () => {
  it('returns the same run for a repeated Idempotency-Key and refuses the key with another body', async () => {
    const headers = { 'idempotency-key': 'key-123' };
    const first = await createRun(h.app, { paperId, ideaCount: 1 }, headers);
    const replay = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { ...AUTH, ...headers },
      payload: { paperId, ideaCount: 1, until: 'approved' },
    });
    expect(replay.statusCode).toBe(201);
    expect(replay.json().id).toBe(first.id);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const other = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { ...AUTH, ...headers },
      payload: { paperId, ideaCount: 2 },
    });
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('IdempotencyKeyReused');
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM runs WHERE idempotency_key = $1', ['key-123']);
    expect(rows[0].n).toBe(1);
  });

  it('answers 404 for an unknown paper and 400 naming the field for a bad body', async () => {
    const missing = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(missing.statusCode).toBe(404);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId, ideaCount: 0 },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/ideaCount/);
    const mode = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId, mode: 'yolo' },
    });
    expect(mode.json().error.message).toMatch(/mode/);
  });

  it('answers 503 saying what to set when no model is configured', async () => {
    const bare = await createHarness({ MLR_MODEL: '' });
    try {
      const pid = await submitPaper(bare.app);
      const res = await bare.app.inject({ method: 'POST', url: '/v1/runs', headers: AUTH, payload: { paperId: pid } });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toEqual({ code: 'ModelNotConfigured', message: expect.stringMatching(/set MLR_MODEL/) });
    } finally {
      await bare.close();
    }
  });
});

describe('no run left behind', () => {
  it('keeps a run whose workflow could not start, answers 202, and the sweeper starts it once Temporal answers', async () => {
    const down = await buildApp({
      config: h.config,
      db: h.pool,
      runTimeouts: testTimeouts,
      store: createFsArtifactStore(h.config.MLR_DATA_DIR),
      gateway: {
        ...createRunGateway(h.client, h.config.MLR_TASK_QUEUE),
        start: async () => {
          throw new Error('14 UNAVAILABLE: connection refused');
        },
      },
    });
    try {
      const res = await down.inject({
        method: 'POST',
        url: '/v1/runs',
        headers: AUTH,
        payload: { paperId, ideaCount: 1, until: 'approved' },
      });
      expect(res.statusCode).toBe(202);
      expect(res.headers['retry-after']).toBe('30');
      expect(res.json().status).toBe('queued');
      const id = res.json().id;
      const events = await h.pool.query('SELECT type FROM run_events WHERE run_id = $1', [id]);
      expect(events.rows.map((r) => r.type)).toEqual(['created']);
      // A run younger than the grace period is left to the request that made it.
      expect(await sweepQueuedRuns(h.pool, createRunGateway(h.client, h.config.MLR_TASK_QUEUE))).toBe(0);
      expect(
        await sweepQueuedRuns(h.pool, createRunGateway(h.client, h.config.MLR_TASK_QUEUE), undefined, 0),
      ).toBeGreaterThanOrEqual(1);
      await waitForStatus(h.app, id, 'awaiting_approval');
    } finally {
      await down.close();
    }
  });
});

describe('GET /v1/runs', () => {
  it('filters by status and paper and pages with a cursor', async () => {
    const other = await submitPaper(h.app, '# Other\n\nbody');
    const a = await createRun(h.app, { paperId: other, mode: 'autonomous', ideaCount: 1 });
    const b = await createRun(h.app, { paperId: other, ideaCount: 1 });
    await waitForStatus(h.app, a.id, 'approved');
    await waitForStatus(h.app, b.id, 'awaiting_approval');
    const byPaper = (await h.app.inject({ method: 'GET', url: `/v1/runs?paperId=${other}`, headers: AUTH })).json();
    expect(byPaper.items.map((r: { id: string }) => r.id)).toEqual([b.id, a.id]);
    const approved = (
      await h.app.inject({ method: 'GET', url: `/v1/runs?paperId=${other}&status=approved`, headers: AUTH })
    ).json();
    expect(approved.items.map((r: { id: string }) => r.id)).toEqual([a.id]);
    const page1 = (
      await h.app.inject({ method: 'GET', url: `/v1/runs?paperId=${other}&limit=1`, headers: AUTH })
    ).json();
    const page2 = (
      await h.app.inject({
        method: 'GET',
        url: `/v1/runs?paperId=${other}&limit=1&cursor=${page1.nextCursor}`,
        headers: AUTH,
      })
    ).json();
    expect([page1.items[0].id, page2.items[0].id]).toEqual([b.id, a.id]);
    expect((await h.app.inject({ method: 'GET', url: '/v1/runs?status=bogus', headers: AUTH })).statusCode).toBe(400);
  });

  it('answers 404 for unknown runs on every run route', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const [method, url] of [
      ['GET', `/v1/runs/${id}`],
      ['POST', `/v1/runs/${id}/approval`],
      ['POST', `/v1/runs/${id}/cancel`],
      ['GET', `/v1/runs/${id}/events`],
    ] as const) {
      const res = await h.app.inject({
        method,
        url,
        headers: AUTH,
        payload: method === 'POST' && url.endsWith('approval') ? { decision: 'approve' } : undefined,
      });
      expect([url, res.statusCode]).toEqual([url, 404]);
    }
  });
});

describe('GET /v1/runs/:id/events', () => {
  it('streams stage changes, model calls and the decision as Server-Sent Events, and ends with the run', async () => {
    const run = await createRun(h.app, { paperId, mode: 'autonomous', ideaCount: 1 });
    const res = await h.app.inject({ method: 'GET', url: `/v1/runs/${run.id}/events`, headers: AUTH });
    expect(res.headers['content-type']).toBe('text/event-stream');
    const events = res.body
      .trim()
      .split('\n\n')
      .map((block) =>
        Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)])),
      );
    const names = events.map((e) => (e.event === 'status' ? `status:${JSON.parse(e.data).status}` : e.event));
    expect(names).toEqual([
      'created',
      'status:analyzing',
      'llm_call',
      'status:retrieving',
      'retrieval',
      'status:ideating',
      'llm_call',
      'llm_call',
      'status:awaiting_approval',
      'status:approved',
      'decision',
    ]);
    const ids = events.map((e) => Number(e.id));
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);

    const resumed = await h.app.inject({
      method: 'GET',
      url: `/v1/runs/${run.id}/events`,
      headers: { ...AUTH, 'last-event-id': String(ids[8]) },
    });
    expect(resumed.body.match(/^event: /gm)).toHaveLength(2);
  });
});

// GET /metrics: the service's state for Prometheus, from Postgres, for an admin token only.
import { renderMetrics } from '../../src/api/routes/metrics';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { createRun, submitPaper, waitForStatus } from '../support/api';

let model: FakeModel;
let h: Harness;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    MLR_API_TOKENS: 'test-token-0123456789:admin,bob=tok-bob-0123456789',
  });
  await h.startWorker();
});
afterAll(async () => {
  await h.close();
  await model.close();
});

it('reports runs by status, approvals waiting and their age, and model tokens, in the text format', async () => {
  const paperId = await submitPaper(h.app);
  const run = await createRun(h.app, { paperId, ideaCount: 1 });
  await waitForStatus(h.app, run.id, 'awaiting_approval', 60_000);
  const res = await h.app.inject({ method: 'GET', url: '/metrics', headers: AUTH });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(res.body).toMatch(/^# TYPE mlr_runs gauge$/m);
  expect(res.body).toMatch(/^mlr_runs\{status="awaiting_approval"\} 1$/m);
  expect(res.body).toMatch(/^mlr_approvals_waiting 1$/m);
  expect(res.body).toMatch(/^mlr_approval_oldest_wait_seconds \d+(\.\d+)?$/m);
  expect(res.body).toMatch(/^mlr_model_tokens_total\{model="[^"]+",kind="prompt"\} [1-9]\d*$/m);
  // Every sample line is `name{labels} number`.
  for (const line of res.body.split('\n').filter((x) => x && !x.startsWith('#')))
    expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?\d+(\.\d+)?(e[-+]?\d+)?$/);
});

it('answers 401 without a token and 403 for a user who is not an admin', async () => {
  expect((await h.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
  const bob = await h.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: 'Bearer tok-bob-0123456789' },
  });
  expect(bob.statusCode).toBe(403);
});

/** Metrics of an idle service, for tests of rendering alone. */
const IDLE: Parameters<typeof renderMetrics>[0] = {
  runsByStatus: [],
  approvalsWaiting: 0,
  oldestApprovalSeconds: 0,
  queuedRuns: 0,
  oldestQueuedSeconds: 0,
  workersLive: [],
  executions: [],
  tokens: [],
};

it('escapes label values', () => {
  const text = renderMetrics({
    ...IDLE,
    tokens: [{ model: 'a"b\\c\nd', prompt: 1, completion: 2, costUsd: 0.5 }],
  });
  expect(text).toContain('mlr_model_cost_usd_total{model="a\\"b\\\\c\\nd"} 0.5');
});

it('counts finished executions in a counter and running ones in a gauge, so the counter never goes down', () => {
  const render = (running: number, succeeded: number) =>
    renderMetrics({
      ...IDLE,
      executions: [
        { status: 'running', backend: 'kubernetes', count: running },
        { status: 'succeeded', backend: 'kubernetes', count: succeeded },
      ],
    });
  // One execution finishes: running 1 → 0, succeeded 0 → 1; no series of the counter drops.
  const before = render(1, 0);
  const after = render(0, 1);
  expect(before).toContain('mlr_executions_running{backend="kubernetes"} 1');
  expect(before).not.toMatch(/mlr_executions_total\{status="running"/);
  expect(after).toContain('mlr_executions_total{status="succeeded",backend="kubernetes"} 1');
  expect(after).toContain('# TYPE mlr_executions_running gauge');
});

// The approval inbox: every decision waiting, oldest first, scoped to its owner; bulk decisions with an
// outcome each. Through HTTP against the real stack.
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { SAMPLE_PAPER, createRun, submitPaper, waitForStatus } from '../support/api';

let model: FakeModel;
let h: Harness;
const BOB = { authorization: 'Bearer tok-bob-0123456789' };

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    MLR_API_TOKENS: 'test-token-0123456789,bob=tok-bob-0123456789',
  });
  await h.startWorker();
});
afterAll(async () => {
  await h.close();
  await model.close();
});

it('lists the waiting decisions oldest first with their ideas, and applies bulk decisions one by one', async () => {
  const paperId = await submitPaper(h.app);
  const first = await createRun(h.app, { paperId, ideaCount: 2, until: 'approved' });
  await waitForStatus(h.app, first.id, 'awaiting_approval', 60_000);
  const second = await createRun(h.app, { paperId, ideaCount: 2, until: 'approved' });
  await waitForStatus(h.app, second.id, 'awaiting_approval', 60_000);
  const bobPaper = await h.app.inject({
    method: 'POST',
    url: '/v1/papers',
    headers: BOB,
    payload: { content: SAMPLE_PAPER, format: 'markdown' },
  });
  const bobRun = await createRun(h.app, { paperId: bobPaper.json().id, ideaCount: 1, until: 'approved' }, BOB);

  const inbox = await h.app.inject({ method: 'GET', url: '/v1/approvals', headers: AUTH });
  expect(inbox.statusCode).toBe(200);
  const items = inbox.json().items as Array<{ runId: string; ideas: Array<{ id: string }>; waitingSeconds: number }>;
  expect(items.map((i) => i.runId)).toEqual([first.id, second.id]); // not bob's, oldest first
  expect(items[0]!.ideas).toHaveLength(2);
  expect(items[0]!.waitingSeconds).toBeGreaterThanOrEqual(0);
  const bobs = await h.app.inject({ method: 'GET', url: '/v1/approvals', headers: BOB });
  expect(bobs.json().items.map((i: { runId: string }) => i.runId)).not.toContain(first.id);

  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/approvals',
    headers: AUTH,
    payload: {
      decisions: [
        { runId: first.id, decision: 'approve', ideaId: items[0]!.ideas[1]!.id },
        { runId: second.id, decision: 'revise' },
        { runId: bobRun.id, decision: 'approve' },
      ],
    },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json().results).toEqual([
    { runId: first.id, ok: true, status: 200 },
    expect.objectContaining({
      runId: second.id,
      ok: false,
      status: 400,
      error: expect.objectContaining({ code: 'InvalidDecision' }),
    }),
    expect.objectContaining({ runId: bobRun.id, ok: false, status: 404 }),
  ]);
  const approved = await waitForStatus(h.app, first.id, 'approved', 30_000);
  expect(approved.selectedIdeaId).toBe(items[0]!.ideas[1]!.id);
  const after = await h.app.inject({ method: 'GET', url: '/v1/approvals', headers: AUTH });
  expect(after.json().items.map((i: { runId: string }) => i.runId)).toEqual([second.id]);
});

it('answers 400 for a malformed batch and 401 without a token', async () => {
  const empty = await h.app.inject({ method: 'POST', url: '/v1/approvals', headers: AUTH, payload: { decisions: [] } });
  expect(empty.statusCode).toBe(400);
  const bad = await h.app.inject({
    method: 'POST',
    url: '/v1/approvals',
    headers: AUTH,
    payload: { decisions: [{ runId: 'not-a-uuid', decision: 'approve' }] },
  });
  expect(bad.statusCode).toBe(400);
  expect((await h.app.inject({ method: 'GET', url: '/v1/approvals' })).statusCode).toBe(401);
});

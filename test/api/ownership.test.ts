// Two users and an admin against one real stack: every route is scoped to its owner; another owner's id
// is a 404 exactly like an unknown one.
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { createHarness, type Harness } from '../support/harness';
import { SAMPLE_PAPER } from '../support/api';

const as = (token: string) => ({ authorization: `Bearer ${token}` });
const ALICE = as('tok-alice-0123456789');
const BOB = as('tok-bob-0123456789');
const ROOT = as('tok-root-0123456789');

let model: FakeModel;
let h: Harness;
let alicePaper: string;
let aliceRun: string;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    MLR_API_TOKENS:
      'alice=tok-alice-0123456789,bob=tok-bob-0123456789,root=tok-root-0123456789:admin,test-token-0123456789',
  });
  await h.startWorker();
  const paper = await h.app.inject({
    method: 'POST',
    url: '/v1/papers',
    headers: ALICE,
    payload: { content: SAMPLE_PAPER, format: 'markdown' },
  });
  alicePaper = paper.json().id;
  const run = await h.app.inject({
    method: 'POST',
    url: '/v1/runs',
    headers: { ...ALICE, 'idempotency-key': 'shared-key' },
    payload: { paperId: alicePaper, ideaCount: 2, until: 'approved' },
  });
  aliceRun = run.json().id;
  await waitForStatusAs(aliceRun, 'awaiting_approval');
});
afterAll(async () => {
  await h.close();
  await model.close();
});

async function waitForStatusAs(id: string, status: string) {
  for (let i = 0; i < 300; i++) {
    const run = (await h.app.inject({ method: 'GET', url: `/v1/runs/${id}`, headers: ALICE })).json();
    if (run.status === status) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${id} never reached ${status}`);
}

describe('ownership', () => {
  const eid = '00000000-0000-4000-8000-000000000000';
  const routes = (): Array<[string, string, unknown?]> => [
    ['GET', `/v1/papers/${alicePaper}`],
    ['GET', `/v1/runs/${aliceRun}`],
    ['POST', `/v1/runs/${aliceRun}/approval`, { decision: 'reject' }],
    ['POST', `/v1/runs/${aliceRun}/cancel`],
    ['POST', `/v1/runs/${aliceRun}/feedback`, { message: 'hi' }],
    ['POST', `/v1/runs/${aliceRun}/pause`],
    ['POST', `/v1/runs/${aliceRun}/resume`],
    ['GET', `/v1/runs/${aliceRun}/events`],
    ['GET', `/v1/runs/${aliceRun}/experiments/${eid}/log`],
    ['GET', `/v1/runs/${aliceRun}/workspace`],
    ['GET', `/v1/runs/${aliceRun}/steps`],
    ['GET', `/v1/runs/${aliceRun}/report`],
    ['GET', `/v1/runs/${aliceRun}/report/chart.svg`],
    ['POST', '/v1/runs', { paperId: alicePaper, until: 'approved' }],
  ];

  it("answers 404 to every route that names another user's paper or run", async () => {
    for (const [method, url, payload] of routes()) {
      const res = await h.app.inject({
        method: method as 'GET',
        url,
        headers: BOB,
        payload: payload as object | undefined,
      });
      expect({ method, url, status: res.statusCode, code: res.json().error?.code }).toEqual({
        method,
        url,
        status: 404,
        code: 'NotFound',
      });
    }
    // Nothing Bob tried changed Alice's run.
    expect((await h.app.inject({ method: 'GET', url: `/v1/runs/${aliceRun}`, headers: ALICE })).json().status).toBe(
      'awaiting_approval',
    );
  });

  it('lists only what the caller owns, and everything for an admin', async () => {
    const bobPapers = (await h.app.inject({ method: 'GET', url: '/v1/papers', headers: BOB })).json();
    expect(bobPapers.items).toEqual([]);
    const bobRuns = (await h.app.inject({ method: 'GET', url: `/v1/runs?paperId=${alicePaper}`, headers: BOB })).json();
    expect(bobRuns.items).toEqual([]);
    const rootRuns = (await h.app.inject({ method: 'GET', url: '/v1/runs', headers: ROOT })).json();
    expect(rootRuns.items.map((r: { id: string; owner: string }) => [r.id, r.owner])).toContainEqual([
      aliceRun,
      'alice',
    ]);
    const rootView = await h.app.inject({ method: 'GET', url: `/v1/runs/${aliceRun}/steps`, headers: ROOT });
    expect(rootView.statusCode).toBe(200);
  });

  it('de-duplicates papers per owner: the same content is a new paper for another user', async () => {
    const again = await h.app.inject({
      method: 'POST',
      url: '/v1/papers',
      headers: ALICE,
      payload: { content: SAMPLE_PAPER, format: 'markdown' },
    });
    expect([again.statusCode, again.json().id]).toEqual([200, alicePaper]);
    const bobs = await h.app.inject({
      method: 'POST',
      url: '/v1/papers',
      headers: BOB,
      payload: { content: SAMPLE_PAPER, format: 'markdown' },
    });
    expect(bobs.statusCode).toBe(201);
    expect(bobs.json().id).not.toBe(alicePaper);
    expect(bobs.json().owner).toBe('bob');
  });

  it("scopes Idempotency-Keys per owner: Bob's key never replays Alice's run", async () => {
    const bobPaper = (await h.app.inject({ method: 'GET', url: '/v1/papers', headers: BOB })).json().items[0].id;
    const bobRun = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { ...BOB, 'idempotency-key': 'shared-key' },
      payload: { paperId: bobPaper, ideaCount: 2, until: 'approved' },
    });
    expect(bobRun.statusCode).toBe(201);
    expect(bobRun.headers['idempotent-replayed']).toBeUndefined();
    expect(bobRun.json()).toMatchObject({ owner: 'bob', paperId: bobPaper });
    expect(bobRun.json().id).not.toBe(aliceRun);
  });

  it('lets the owner act on the run', async () => {
    const approve = await h.app.inject({
      method: 'POST',
      url: `/v1/runs/${aliceRun}/approval`,
      headers: ALICE,
      payload: { decision: 'reject' },
    });
    expect(approve.statusCode).toBe(200);
    expect(approve.json().status).toBe('rejected');
  });
});

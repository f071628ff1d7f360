// A rolling restart, as a deploy does it: a campaign of 20 runs on three worker processes with disks of their
// own, each worker in turn sent SIGTERM (and replaced by a fresh one) while the campaign runs. None of the runs
// fails: what a stopping worker holds is handed over within its grace period and carried on elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { SAMPLE_PAPER, submitPaper, type Json } from '../support/api';
import { TEST_DATA } from '../support/paths';
import { startS3, type S3Server } from '../support/s3';
import { workerPool, type WorkerPool } from '../support/worker-pool';

let model: FakeModel;
let s3: S3Server;
let h: Harness;
let pool: WorkerPool;
const root = path.join(TEST_DATA, 'rolling-restart');

beforeAll(async () => {
  fs.rmSync(root, { recursive: true, force: true });
  s3 = await startS3(root);
  model = await startFakeModel();
  h = await createHarness({ ...s3.env, OPENAI_BASE_URL: model.baseUrl, MLR_CAMPAIGN_MAX_RUNS: '20' });
  pool = workerPool(h, model, s3, root);
  for (let i = 0; i < 3; i++) pool.spawn();
}, 600_000);
afterAll(async () => {
  await pool.close();
  await h.close();
  await model.close();
  await s3.stop();
});

const get = async (url: string): Promise<Json> => (await h.app.inject({ method: 'GET', url, headers: AUTH })).json();

it('finishes a campaign of 20 runs while every worker is restarted in turn with SIGTERM', async () => {
  const papers: string[] = [];
  for (let i = 0; i < 10; i++) papers.push(await submitPaper(h.app, SAMPLE_PAPER.replace('iris', `iris-${i}`)));
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/campaigns',
    headers: AUTH,
    payload: {
      name: 'Rolling restart',
      paperIds: papers,
      runsPerPaper: 2,
      mode: 'autonomous',
      taskId: 'breast-cancer',
      until: 'measured',
      maxConcurrentRuns: 4,
      budget: { usd: 100 },
    },
  });
  expect(res.statusCode).toBe(201);
  const id = res.json().id;
  const finished = async () =>
    ((await get(`/v1/runs?campaignId=${id}&limit=50`)).items as Json[]).filter((r) =>
      ['succeeded', 'failed', 'cancelled'].includes(r.status),
    ).length;
  // Each original worker, in turn, once a few more runs have finished: SIGTERM, wait for it to leave, replace it.
  const originals = [...pool.workers.keys()];
  for (const [i, name] of originals.entries()) {
    for (let t = 0; t < 3000 && (await finished()) < 3 * (i + 1); t++) await new Promise((r) => setTimeout(r, 100));
    await pool.kill(name, 'SIGTERM');
    pool.spawn();
  }
  let view: Json = {};
  for (let t = 0; t < 3000; t++) {
    view = await get(`/v1/campaigns/${id}`);
    if (['completed', 'failed', 'cancelled'].includes(view.status)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const runs = (await get(`/v1/runs?campaignId=${id}&limit=50`)).items as Json[];
  expect(runs.filter((r) => r.status !== 'succeeded').map((r) => [r.status, r.error])).toEqual([]);
  expect(view.status).toBe('completed');
  expect(view.runs).toMatchObject({ total: 20, created: 20, byStatus: { succeeded: 20 } });
}, 900_000);

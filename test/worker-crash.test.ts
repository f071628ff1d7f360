import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startFakeModel, type FakeModel } from './support/fake-model';
import { createHarness, stack, type Harness } from './support/harness';
import { createRun, submitPaper, waitForStatus } from './support/api';
import { ROOT } from './support/paths';

let model: FakeModel;
let h: Harness;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl });
});
afterAll(async () => {
  await h.close();
  await model.close();
});

/** The real `npm run worker` entry point, as its own process, so it can be killed with SIGKILL. */
function spawnWorker(): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src/worker.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH, DATABASE_URL: h.dbUrl, TEMPORAL_ADDRESS: stack().temporalAddress, MLR_TASK_QUEUE: h.config.MLR_TASK_QUEUE,
      MLR_MODEL: 'fake-model', OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'sk-test', LOG_LEVEL: 'warn',
      SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/graph/v1', MLR_S2_RETRIES: '0',
    },
  });
}

it('finishes the run on a new worker after the worker is killed during ideation, without repeating finished steps', async () => {
  model.enqueue('research_ideas', { hang: true });
  const first = spawnWorker();
  try {
    const paperId = await submitPaper(h.app);
    const run = await createRun(h.app, { paperId, ideaCount: 2 });
    await model.waitFor('research_ideas', 1);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    await h.startWorker();
    const waiting = await waitForStatus(h.app, run.id, 'awaiting_approval', 60_000);
    expect(waiting.ideas).toHaveLength(2);
    expect(model.requestsFor('paper_analysis')).toHaveLength(1);
    expect(model.requestsFor('research_ideas')).toHaveLength(2);
    const statuses = await h.pool.query(`SELECT data->>'status' AS s FROM run_events WHERE run_id = $1 AND type = 'status' ORDER BY id`, [run.id]);
    expect(statuses.rows.map((r) => r.s)).toEqual(['analyzing', 'retrieving', 'ideating', 'awaiting_approval']);
  } finally {
    first.kill('SIGKILL');
  }
});

import { startFakeModel, type FakeModel } from './support/fake-model';
import { createHarness, type Harness } from './support/harness';
import { spawnWorkerProcess } from './support/worker-process';
import { createRun, createTaskRun, submitPaper, waitForStatus } from './support/api';
import { SCALED_TRAIN } from './support/train-scripts';

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

const spawnWorker = () => spawnWorkerProcess(h, model.baseUrl);

it('finishes the run on a new worker after the worker is killed during ideation, without repeating finished steps', async () => {
  model.enqueue('research_ideas', { hang: true });
  const first = spawnWorker();
  try {
    const paperId = await submitPaper(h.app);
    const run = await createRun(h.app, { paperId, ideaCount: 2, until: 'approved' });
    await model.waitFor('research_ideas', 1);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = await h.startWorker();
    const waiting = await waitForStatus(h.app, run.id, 'awaiting_approval', 60_000);
    await second.stop(); // the next test's killed worker must be the only one polling
    expect(waiting.ideas).toHaveLength(2);
    expect(model.requestsFor('paper_analysis')).toHaveLength(1);
    expect(model.requestsFor('research_ideas')).toHaveLength(2);
    const statuses = await h.pool.query(
      `SELECT data->>'status' AS s FROM run_events WHERE run_id = $1 AND type = 'status' ORDER BY id`,
      [run.id],
    );
    expect(statuses.rows.map((r) => r.s)).toEqual(['analyzing', 'retrieving', 'ideating', 'awaiting_approval']);
  } finally {
    first.kill('SIGKILL');
  }
});

it('finishes the experiment stage after the worker is killed during the candidate execution, without re-running finished steps', async () => {
  const slow = SCALED_TRAIN.replace('import json\n', 'import json\nimport time\ntime.sleep(8)\n');
  model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: slow } });
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'scaled' } });
  const first = spawnWorker();
  try {
    const paperId = await submitPaper(h.app);
    const run = await createTaskRun(h.app, paperId);
    await waitForStatus(h.app, run.id, 'executing', 120_000);
    for (;;) {
      const { rows } = await h.pool.query(`SELECT status FROM experiments WHERE run_id = $1 AND role = 'candidate'`, [
        run.id,
      ]);
      if (rows[0]?.status === 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    await h.startWorker();
    const done = await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    expect(done.result.improvement).toBeGreaterThan(0);
    const baselines = await h.pool.query(`SELECT count(*)::int AS n FROM experiments WHERE role = 'baseline'`);
    expect(baselines.rows[0].n).toBe(1);
    const agentCalls = await h.pool.query(
      `SELECT count(*)::int AS n FROM llm_calls WHERE run_id = $1 AND role = 'agent'`,
      [run.id],
    );
    expect(agentCalls.rows[0].n).toBe(2);
    const candidates = await h.pool.query(`SELECT status FROM experiments WHERE run_id = $1 AND role = 'candidate'`, [
      run.id,
    ]);
    expect(candidates.rows.map((r) => r.status)).toEqual(['succeeded']);
  } finally {
    first.kill('SIGKILL');
  }
}, 240_000);

// A cached baseline cannot go stale: change the task's eval.py between two runs and the second measures its
// own baseline with the new scorer, while a third run of the unchanged task reuses the second's.
import fs from 'node:fs';
import path from 'node:path';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { createHarness, type Harness } from '../support/harness';
import { createTaskRun, submitPaper, waitForStatus } from '../support/api';
import { ROOT, TEST_DATA } from '../support/paths';

let model: FakeModel;
let h: Harness;
let paperId: string;
const tasksDir = path.join(TEST_DATA, 'baseline-cache-tasks');
const evalPy = path.join(tasksDir, 'breast-cancer', 'scripts', 'eval.py');

beforeAll(async () => {
  fs.rmSync(tasksDir, { recursive: true, force: true });
  fs.mkdirSync(tasksDir, { recursive: true });
  fs.cpSync(path.join(ROOT, 'tasks', 'breast-cancer'), path.join(tasksDir, 'breast-cancer'), { recursive: true });
  model = await startFakeModel();
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl, MLR_TASKS_DIR: tasksDir });
  await h.startWorker();
  paperId = await submitPaper(h.app);
}, 120_000);
afterAll(async () => {
  await h.close();
  await model.close();
});

const measuredRun = async () => waitForStatus(h.app, (await createTaskRun(h.app, paperId)).id, 'succeeded', 180_000);

it('measures the baseline again when eval.py changed, and reuses it while nothing did', async () => {
  const first = await measuredRun();
  // The scorer changes as a user's might: the same accuracy, reported ten times larger.
  const source = fs.readFileSync(evalPy, 'utf8');
  fs.writeFileSync(evalPy, source.replace('.mean())', '.mean()) * 10'));
  const second = await measuredRun();
  expect(second.result.baseline).toBeCloseTo(first.result.baseline * 10, 9);
  expect(second.result.baselineExperimentId).not.toBe(first.result.baselineExperimentId);
  const third = await measuredRun();
  expect(third.result.baselineExperimentId).toBe(second.result.baselineExperimentId);
  const { rows } = await h.pool.query(
    `SELECT count(DISTINCT task_fingerprint)::int AS fingerprints, count(*)::int AS n FROM experiments
     WHERE role = 'baseline'`,
  );
  expect(rows[0]).toEqual({ fingerprints: 2, n: 2 });
}, 600_000);

// The executor's inputs over the service: snapshots from Postgres and the store, the prepared task checked
// against its recorded hash before anything is measured on it.
import fs from 'node:fs';
import path from 'node:path';
import { createExecutionInputs } from '../../src/activities/execution-inputs';
import { insertSnapshot } from '../../src/db/snapshots';
import type { Pool } from 'pg';
import { createFsArtifactStore } from '../../src/experiments/artifacts';
import { TamperedTaskError } from '../../src/experiments/executor/types';
import { createTestDatabase } from '../support/harness';
import { PYTHON } from '../support/experiments';
import { ROOT, TEST_DATA } from '../support/paths';
import { insertTestRun } from '../support/rows';
import { createHash } from 'node:crypto';

let db: Pool;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  ({ pool: db } = await createTestDatabase());
});
afterAll(async () => db.end());

function inputsOver(dataDir: string) {
  const store = createFsArtifactStore(path.join(dataDir, 'artifacts'));
  const config = { MLR_DATA_DIR: dataDir, MLR_TASKS_DIR: path.join(ROOT, 'tasks') };
  return { store, inputs: createExecutionInputs({ db, store, config, python: PYTHON }) };
}

async function storedSnapshot(store: ReturnType<typeof createFsArtifactStore>, runId: string) {
  const code = 'print("snapshot")\n';
  await store.put(`blobs/${sha(code)}`, Buffer.from(code));
  await insertTestRun(db, runId);
  await insertSnapshot(db, { runId, codeHash: 'c0de', manifest: { 'train.py': sha(code) }, diff: '' });
}

it('writes exactly the snapshot over the prepared env, and no other code', async () => {
  const dataDir = fs.mkdtempSync(path.join(TEST_DATA, 'inputs-'));
  const { store, inputs } = inputsOver(dataDir);
  const runId = '6f1c1f62-8a43-4c59-9b1f-6d7b9a0f0001';
  await storedSnapshot(store, runId);
  const dir = path.join(dataDir, 'copy');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'stale.py'), 'left over');
  await inputs.materialize({ kind: 'snapshot', runId, taskId: 'breast-cancer', codeHash: 'c0de' }, dir);
  expect(fs.readFileSync(path.join(dir, 'train.py'), 'utf8')).toBe('print("snapshot")\n');
  expect(fs.existsSync(path.join(dir, 'stale.py'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'data', 'train.csv'))).toBe(true);
  expect(inputs.liveWorkspace({ kind: 'live', runId, taskId: 'breast-cancer' })).toBe(
    path.join(dataDir, 'workspaces', runId),
  );
});

it('refuses to measure on a prepared task whose data changed on disk since it was prepared', async () => {
  const dataDir = fs.mkdtempSync(path.join(TEST_DATA, 'inputs-'));
  const { store, inputs } = inputsOver(dataDir);
  const runId = '6f1c1f62-8a43-4c59-9b1f-6d7b9a0f0002';
  await storedSnapshot(store, runId);
  const task = await inputs.task('breast-cancer');
  fs.appendFileSync(path.join(task.envDir, 'data', 'train.csv'), '9,9,9\n');
  const ref = { kind: 'snapshot' as const, runId, taskId: 'breast-cancer', codeHash: 'c0de' };
  const dir = path.join(dataDir, 'copy');
  await expect(inputs.materialize(ref, dir)).rejects.toThrow(TamperedTaskError);
  await expect(inputs.materialize(ref, dir)).rejects.toThrow(/changed on disk since it was prepared/);
  expect(fs.existsSync(dir)).toBe(false);
});

it('does not resolve a task id that is not a plain folder name', async () => {
  const { inputs } = inputsOver(fs.mkdtempSync(path.join(TEST_DATA, 'inputs-')));
  await expect(inputs.task('../tasks/breast-cancer')).rejects.toThrow(/is not in/);
});

// A run's live working copy over real Postgres and a real store: opened as the newest committed step left it,
// rebuilt where the disk differs, and kept as it is for a run an earlier version began.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createLiveWorkspaces } from '../../src/activities/live-workspace';
import { finishStep, insertStep } from '../../src/db/agent';
import { patchRun } from '../../src/db/runs';
import { createFsArtifactStore } from '../../src/experiments/artifacts';
import type { PreparedTask } from '../../src/tasks/library';
import { createTestDatabase, testConfig } from '../support/harness';
import { preparedTask } from '../support/experiments';
import { TEST_DATA } from '../support/paths';
import { insertTestRun } from '../support/rows';

let db: Pool;
let prepared: PreparedTask;
beforeAll(async () => {
  ({ pool: db } = await createTestDatabase());
  prepared = await preparedTask();
});
afterAll(async () => db.end());

async function setUp() {
  const dataDir = fs.mkdtempSync(path.join(TEST_DATA, 'live-'));
  const config = testConfig({ MLR_DATA_DIR: dataDir });
  const store = createFsArtifactStore(path.join(TEST_DATA, 'live-store'));
  const runId = randomUUID();
  await insertTestRun(db, runId);
  await patchRun(db, runId, { task_id: prepared.task.id });
  return { runId, live: createLiveWorkspaces({ db, store, config }) };
}

const step = async (runId: string, n: number, state?: { hash: string; codeHash: string }) => {
  await insertStep(db, { runId, step: n, tool: 'write_file', args: {}, toolCallId: `c${n}` });
  if (state) return finishStep(db, runId, n, { observation: 'ok', codeHash: state.codeHash, stateHash: state.hash });
  await db.query('UPDATE agent_steps SET observation = $3 WHERE run_id = $1 AND step = $2', [runId, n, 'ok']);
  return true;
};

it('rebuilds a copy that differs from the last committed step, and fences a second finish of a step', async () => {
  const { runId, live } = await setUp();
  const ws = await live.open(runId, prepared);
  ws.writeFile('check.py', 'print("committed")\n');
  const state = await live.commit(runId, ws, prepared);
  expect(await step(runId, 0, { hash: state.hash, codeHash: 'c0' })).toBe(true);
  // A second attempt of the same step (one that stalled) is not recorded.
  expect(await finishStep(db, runId, 0, { observation: 'late', codeHash: 'x', stateHash: 'y' })).toBe(false);
  // Something this disk did that no step committed: the next open puts the committed copy back.
  ws.writeFile('check.py', 'print("never committed")\n');
  fs.writeFileSync(path.join(ws.root, 'stray.py'), '');
  const again = await live.open(runId, prepared);
  expect(again.readFile('check.py')).toBe('print("committed")\n');
  expect(fs.existsSync(path.join(again.root, 'stray.py'))).toBe(false);
});

it('keeps the copy on disk for a run whose steps an earlier version recorded without a state', async () => {
  const { runId, live } = await setUp();
  const ws = await live.open(runId, prepared);
  ws.writeFile('check.py', 'print("from before the upgrade")\n');
  await step(runId, 0);
  const again = await live.open(runId, prepared);
  expect(again.readFile('check.py')).toBe('print("from before the upgrade")\n');
});

it('tells the agent what a commit did not carry, and removes it on this disk as on every other', async () => {
  const dataDir = fs.mkdtempSync(path.join(TEST_DATA, 'live-cap-'));
  const config = testConfig({ MLR_DATA_DIR: dataDir, MLR_WORKSPACE_CARRY_MB: '1' });
  const live = createLiveWorkspaces({ db, store: createFsArtifactStore(path.join(TEST_DATA, 'live-store')), config });
  const runId = randomUUID();
  await insertTestRun(db, runId);
  await patchRun(db, runId, { task_id: prepared.task.id });
  const ws = await live.open(runId, prepared);
  fs.writeFileSync(path.join(ws.root, 'features.npy'), Buffer.alloc(2 << 20));
  fs.symlinkSync('train.py', path.join(ws.root, 'alias.py'));
  const state = await live.commit(runId, ws, prepared);
  expect(state.note).toContain('features.npy');
  expect(state.note).toContain('alias.py');
  expect(fs.existsSync(path.join(ws.root, 'features.npy'))).toBe(false);
  expect(fs.existsSync(path.join(ws.root, 'alias.py'))).toBe(false);
});

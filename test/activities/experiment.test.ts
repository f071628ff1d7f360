// The experiment activities over real Postgres and a real store: what a worker lost half-way through one
// leaves behind must be enough for the next attempt, on any worker.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createExperimentActivities } from '../../src/activities/experiment';
import { getRun, patchRun } from '../../src/db/runs';
import { snapshotExists } from '../../src/db/snapshots';
import type { ArtifactStore } from '../../src/experiments/artifacts';
import { createActivityDeps } from '../../src/worker';
import { createTestDatabase, testConfig } from '../support/harness';
import { TEST_DATA } from '../support/paths';
import { insertTestRun } from '../support/rows';

let db: Pool;
beforeAll(async () => {
  ({ pool: db } = await createTestDatabase());
});
afterAll(async () => db.end());

async function runOnTask(taskId: string): Promise<string> {
  const runId = randomUUID();
  await insertTestRun(db, runId);
  await patchRun(db, runId, { task_id: taskId });
  return runId;
}

it('stores the starter snapshot before the run names it: a worker lost in between leaves nothing missing', async () => {
  const dataDir = fs.mkdtempSync(path.join(TEST_DATA, 'setup-'));
  const deps = await createActivityDeps(testConfig({ MLR_DATA_DIR: dataDir }), db);
  const runId = await runOnTask('breast-cancer');
  // The worker is lost while it stores the starter's files.
  const lost: ArtifactStore = {
    ...deps.store,
    put: async () => {
      throw new Error('the worker was lost');
    },
  };
  await expect(createExperimentActivities({ ...deps, store: lost }).setupWorkspace({ runId })).rejects.toThrow(
    'the worker was lost',
  );
  expect((await getRun(db, runId))!.starter_hash).toBeNull();
  // The next attempt, on a worker with a data directory of its own, stores it and only then names it.
  const other = await createActivityDeps(testConfig({ MLR_DATA_DIR: fs.mkdtempSync(path.join(TEST_DATA, 'b-')) }), db);
  const { starterHash } = await createExperimentActivities({ ...other, store: deps.store }).setupWorkspace({ runId });
  expect((await getRun(db, runId))!.starter_hash).toBe(starterHash);
  expect(await snapshotExists(db, runId, starterHash)).toBe(true);
});

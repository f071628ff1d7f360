// The executor's view of the service (ExecutionInputs): snapshots from Postgres and the artifact store,
// prepared tasks from the library, live workspaces under the data directory. Built once in the worker's
// composition root and handed to whichever executor backend runs experiments.
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config';
import type { Isolate } from '../domain/isolate';
import type { HubView } from '../domain/hub';
import { ErrorType } from '../errors';
import { getSnapshot } from '../db/snapshots';
import { hubReposForRun } from '../db/hub-repos';
import type { Queryable } from '../db/types';
import type { ArtifactStore } from '../experiments/artifacts';
import { TamperedTaskError, type ExecutionInputs, type TrustedTask } from '../experiments/executor/types';
import { Workspace } from '../experiments/workspace';
import { hashTree, loadTask, prepareTask, TaskRefused, type PreparedTask } from '../tasks/library';

export interface ExecutionInputsDeps {
  db: Queryable;
  store: ArtifactStore;
  config: Pick<Config, 'MLR_DATA_DIR' | 'MLR_TASKS_DIR'> & Partial<Pick<Config, 'HF_ENDPOINT' | 'HF_TOKEN'>>;
  python: string;
  /** The sandbox prepare.py runs in (prepareIsolation); none: as the worker. */
  isolatePrepare?: Isolate;
  /** The run's Hub repositories in this worker's cache (createHubAccess().view). */
  hubView?: (runId: string) => Promise<HubView | undefined>;
}

/** The library task, prepared once under the data directory (prepare.py, hidden answers kept apart). */
export async function prepareLibraryTask(
  deps: Pick<ExecutionInputsDeps, 'config' | 'python' | 'isolatePrepare'>,
  taskId: string,
): Promise<PreparedTask | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(taskId)) return undefined;
  try {
    const task = loadTask(path.join(deps.config.MLR_TASKS_DIR, taskId));
    if (!task) return undefined;
    const dataDir = deps.config.MLR_DATA_DIR;
    const envs = path.join(dataDir, 'envs');
    // A task that loads Hub datasets itself gets them from the worker's Hub (its mirror and token).
    const hubSource = { endpoint: deps.config.HF_ENDPOINT, token: deps.config.HF_TOKEN };
    return await prepareTask(task, path.join(dataDir, 'tasks'), deps.python, envs, deps.isolatePrepare, hubSource);
  } catch (err) {
    // The same folder fails the same way on every attempt: the run says why instead of retrying.
    if (err instanceof TaskRefused) throw ApplicationFailure.nonRetryable(err.message, ErrorType.TaskRefused);
    throw err;
  }
}

export function createExecutionInputs(deps: ExecutionInputsDeps): ExecutionInputs {
  async function prepared(taskId: string): Promise<PreparedTask> {
    const p = await prepareLibraryTask(deps, taskId);
    if (!p) throw new Error(`task ${taskId} is not in ${deps.config.MLR_TASKS_DIR}`);
    return p;
  }
  return {
    async task(taskId): Promise<TrustedTask> {
      const p = await prepared(taskId);
      return {
        envDir: p.envDir,
        scriptsDir: p.scriptsDir,
        readOnlyPatterns: p.readOnlyPatterns,
        ...(p.task.invalidAtOrBelow !== undefined ? { invalidAtOrBelow: p.task.invalidAtOrBelow } : {}),
        ...(p.python ? { python: p.python } : {}),
        ...(p.task.envRequirements ? { requirements: p.task.envRequirements } : {}),
        ...(p.task.scoreBy === 'duration' ? { scoreBy: 'duration' as const } : {}),
        ...(p.datasetsCache ? { datasetsCache: p.datasetsCache } : {}),
      };
    },

    ...(deps.hubView ? { hub: deps.hubView } : {}),
    fetchedFromHub: async (runId) => (await hubReposForRun(deps.db, runId)).length > 0,

    liveWorkspace(ref) {
      return path.join(deps.config.MLR_DATA_DIR, 'workspaces', ref.runId);
    },

    async materialize(ref, dir) {
      const p = await prepared(ref.taskId);
      // The starter env every measured copy starts from is checked against the hash recorded when it was
      // prepared: data or helpers changed on disk since would change every number measured on them.
      const now = hashTree(p.envDir);
      if (now !== p.envHash) {
        throw new TamperedTaskError(
          `the prepared task ${ref.taskId} changed on disk since it was prepared (env hash ${now.slice(0, 12)}, ` +
            `recorded ${p.envHash.slice(0, 12)}); delete ${p.root} to prepare it again`,
        );
      }
      const snap = await getSnapshot(deps.db, ref.runId, ref.codeHash);
      if (!snap) throw new Error(`snapshot ${ref.codeHash} of run ${ref.runId} is missing`);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      fs.cpSync(p.envDir, dir, { recursive: true });
      const copy = new Workspace(dir, p.readOnlyPatterns);
      for (const file of Object.keys(copy.snapshot().files))
        if (!(file in snap.manifest)) fs.rmSync(path.join(dir, file));
      for (const [file, sha] of Object.entries(snap.manifest)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), await deps.store.get(deps.store.uri(`blobs/${sha}`)));
      }
    },
  };
}

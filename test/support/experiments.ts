import fs from 'node:fs';
import path from 'node:path';
import { createFsArtifactStore } from '../../src/experiments/artifacts';
import { createLocalExecutor, detectNetworkIsolation } from '../../src/experiments/executor/local';
import { detectCgroups } from '../../src/experiments/executor/cgroup';
import { planSandbox, pythonPaths } from '../../src/experiments/executor/sandbox';
import type { ExecutionSpec } from '../../src/experiments/executor/types';
import { Workspace } from '../../src/experiments/workspace';
import { loadTask, prepareTask, type PreparedTask } from '../../src/tasks/library';
import { ROOT, TEST_DATA } from './paths';

export const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
export const SANDBOX = path.join(ROOT, 'scripts', 'sandbox.py');
export const EXECUTOR_STATE = path.join(TEST_DATA, 'executor');

export async function preparedTask(id = 'breast-cancer'): Promise<PreparedTask> {
  return prepareTask(loadTask(path.join(ROOT, 'tasks', id))!, path.join(TEST_DATA, 'prepared-tasks'), PYTHON);
}

export function freshWorkspace(prepared: PreparedTask, name: string): Workspace {
  const dir = path.join(TEST_DATA, 'workspaces', `${name}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  return Workspace.create(dir, prepared.envDir, prepared.readOnlyPatterns);
}

/** The executor as the worker builds it; MLR_SANDBOX in the environment picks the sandbox as in production. */
export async function localExecutor(
  isolate = true,
  maxLogBytes?: number,
  sandboxMode?: 'auto' | 'bwrap' | 'none',
  limits: { maxProcs?: number; maxFileMb?: number; maxDiskMb?: number } = { maxProcs: 512, maxFileMb: 4096 },
) {
  const store = createFsArtifactStore(path.join(TEST_DATA, 'artifacts'));
  const isolationPrefix = isolate ? await detectNetworkIsolation() : [];
  return {
    store,
    isolationPrefix,
    executor: createLocalExecutor({
      python: PYTHON,
      sandboxScript: SANDBOX,
      store,
      isolationPrefix,
      stateDir: EXECUTOR_STATE,
      maxLogBytes,
      ...limits,
      cgroups: await detectCgroups(),
      sandbox: await planSandbox(
        sandboxMode ?? (isolate ? ((process.env.MLR_SANDBOX as 'auto' | undefined) ?? 'auto') : 'none'),
      ),
      readOnly: await pythonPaths(PYTHON),
    }),
  };
}

/** An execution of `script` in the workspace with the tests' defaults; `over` changes any field. */
export function execSpec(
  prepared: PreparedTask,
  ws: Workspace,
  script: string,
  over: Partial<ExecutionSpec> = {},
): ExecutionSpec {
  return {
    workspaceDir: ws.root,
    script,
    seed: 1,
    timeoutMs: 60_000,
    memoryMb: 2048,
    scriptsDir: prepared.scriptsDir,
    metricName: 'accuracy',
    logKey: `test/${script}-${Date.now()}-${Math.random().toString(36).slice(2)}.log`,
    ...over,
  };
}

import fs from 'node:fs';
import path from 'node:path';
import { createFsArtifactStore } from '../../src/experiments/artifacts';
import { createLocalExecutor, detectNetworkIsolation } from '../../src/experiments/executor/local';
import { detectCgroups } from '../../src/experiments/executor/cgroup';
import { planSandbox, pythonPaths } from '../../src/experiments/executor/sandbox';
import type { ExecutionInputs, ExecutionSpec, SnapshotRef } from '../../src/experiments/executor/types';
import { Workspace } from '../../src/experiments/workspace';
import { loadTask, prepareTask, type PreparedTask } from '../../src/tasks/library';
import { ROOT, TEST_DATA } from './paths';

export const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
export const SANDBOX = path.join(ROOT, 'scripts', 'sandbox.py');
export const EXECUTOR_STATE = path.join(TEST_DATA, 'executor');
export const EXECUTOR_SCRATCH = path.join(TEST_DATA, 'executions');
const WORKSPACES = path.join(TEST_DATA, 'workspaces');

/** Snapshots the tests took (snapshotOf), by code hash: their files as they were. */
const snapshots = new Map<string, Record<string, Buffer>>();

/**
 * The executor's inputs over the tests' folders: live workspaces under TEST_DATA/workspaces (named by
 * freshWorkspace, as runs are by id), the library's tasks prepared under TEST_DATA, and snapshots taken
 * with snapshotOf. The service's own implementation (over Postgres) is exercised by the workflow tests.
 */
export const TEST_INPUTS: ExecutionInputs = {
  async task(taskId) {
    const p = await preparedTask(taskId);
    return {
      envDir: p.envDir,
      scriptsDir: p.scriptsDir,
      readOnlyPatterns: p.readOnlyPatterns,
      ...(p.python ? { python: p.python } : {}),
    };
  },
  liveWorkspace: (ref) => path.join(WORKSPACES, ref.runId),
  async materialize(ref, dir) {
    const files = snapshots.get(ref.codeHash);
    if (!files) throw new Error(`no snapshot ${ref.codeHash}`);
    const p = await preparedTask(ref.taskId);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(p.envDir, dir, { recursive: true });
    const copy = new Workspace(dir, p.readOnlyPatterns);
    for (const file of Object.keys(copy.snapshot().files)) if (!(file in files)) fs.rmSync(path.join(dir, file));
    for (const [file, bytes] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), bytes);
    }
  },
};

/** Records the workspace's code as a snapshot and returns its reference. */
export function snapshotOf(prepared: PreparedTask, ws: Workspace): SnapshotRef {
  const snap = ws.snapshot();
  snapshots.set(
    snap.codeHash,
    Object.fromEntries(Object.keys(snap.files).map((f) => [f, fs.readFileSync(path.join(ws.root, f))])),
  );
  return { kind: 'snapshot', runId: path.basename(ws.root), taskId: prepared.task.id, codeHash: snap.codeHash };
}

export async function preparedTask(id = 'breast-cancer'): Promise<PreparedTask> {
  return prepareTask(loadTask(path.join(ROOT, 'tasks', id))!, path.join(TEST_DATA, 'prepared-tasks'), PYTHON);
}

/** Harness folders of the tests' workspaces, by the workspace's name (as the service keeps them by run). */
export const HARNESS = path.join(TEST_DATA, 'harness');

export function freshWorkspace(prepared: PreparedTask, name: string): Workspace {
  const id = `${name}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  fs.mkdirSync(WORKSPACES, { recursive: true });
  return Workspace.create(
    path.join(WORKSPACES, id),
    prepared.envDir,
    prepared.readOnlyPatterns,
    path.join(HARNESS, id),
  );
}

/** The executor as the worker builds it; MLR_SANDBOX in the environment picks the sandbox as in production. */
export async function localExecutor(
  isolate = true,
  maxLogBytes?: number,
  sandboxMode?: 'auto' | 'bwrap' | 'none',
  limits: { maxProcs?: number; maxFileMb?: number; maxDiskMb?: number } = { maxProcs: 512, maxFileMb: 4096 },
  inputs: ExecutionInputs = TEST_INPUTS,
) {
  const store = createFsArtifactStore(path.join(TEST_DATA, 'artifacts'));
  const isolationPrefix = isolate ? await detectNetworkIsolation() : [];
  return {
    store,
    isolationPrefix,
    executor: createLocalExecutor({
      python: PYTHON,
      inputs,
      scratchDir: EXECUTOR_SCRATCH,
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

export type SpecOverrides = Partial<Omit<ExecutionSpec, 'resources'>> & Partial<ExecutionSpec['resources']>;

/**
 * An execution of `script` in the live workspace with the tests' defaults; `over` changes any field
 * (resources by name: `memoryMb`, `gpus`, …).
 */
export function execSpec(
  prepared: PreparedTask,
  ws: Workspace,
  script: string,
  over: SpecOverrides = {},
): ExecutionSpec {
  const { cpu, memoryMb, gpus, gpuType, ...rest } = over;
  const id = `${script}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return {
    key: `test:${id}`,
    workspace: { kind: 'live', runId: path.basename(ws.root), taskId: prepared.task.id },
    script,
    seed: 1,
    timeoutMs: 60_000,
    resources: { cpu, memoryMb: memoryMb ?? 2048, gpus: gpus ?? 0, gpuType },
    metricName: 'accuracy',
    logKey: `test/${id}.log`,
    ...rest,
  };
}

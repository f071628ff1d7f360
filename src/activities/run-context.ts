// The shared run context of the experiment and validation stages: a run with its prepared task, its live working
// copy, and one recorded execution. Each stage's activities are built on it (experiment.ts, validation.ts, agent.ts).
// ExperimentAgent activities: choosing the task, the workspace, executions (baseline and candidate),
// and the result. Each is idempotent: a retried activity finds what an earlier attempt stored.
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { experimentByKey, finishExperiment, startExperiment, type ExperimentRow } from '../db/experiments';
import { getIdea } from '../db/ideas';
import { insertSnapshot, snapshotExists, starterManifest } from '../db/snapshots';
import { getRun, type RunRow } from '../db/runs';
import { executionTimeoutMs } from '../domain/time-limits';
import { isFinished, type RunStatus } from '../domain/run-input';
import { ErrorType } from '../errors';
import type { ArtifactStore } from '../experiments/artifacts';
import { READ_ONLY_VIOLATION } from '../experiments/executor/local';
import {
  SandboxUnavailableError,
  TamperedTaskError,
  type Resources,
  type WorkspaceRef,
} from '../experiments/executor/types';
import { MAX_SNAPSHOT_FILE_BYTES, type Workspace } from '../experiments/workspace';
import { type PreparedTask, type Task } from '../tasks/library';
import { prepareLibraryTask } from './execution-inputs';
import { createLiveWorkspaces } from './live-workspace';
import type { ActivityDeps } from './deps';
import { createMeter } from './ledger';
import type { Idea } from '../domain/schemas';
import { abortModeOfActivity, cancelledByWorkflow, heartbeatWith, withHeartbeat } from './heartbeat';
import type { Queryable } from '../db/types';
import { patchesOffLoop, type FilePair } from '../experiments/diff';

/**
 * What one execution of the task needs: the run's (its campaign's) `resources` where it set them, else the
 * task's own, else the service's defaults.
 */
export function resourcesFor(
  task: PreparedTask['task'],
  config: ActivityDeps['config'],
  run: Partial<Resources> = {},
): Resources {
  return {
    cpu: run.cpu ?? task.resources.cpu ?? config.MLR_EXEC_CPUS,
    memoryMb: run.memoryMb ?? task.resources.memoryMb ?? config.MLR_EXEC_MEMORY_MB,
    gpus: run.gpus ?? task.resources.gpus ?? 0,
    gpuType: run.gpuType ?? task.resources.gpuType,
  };
}

/** Shared by the experiment, agent and validation activities: the run's task, prepared copy and workspace. */
export function createRunContext(deps: ActivityDeps) {
  const meter = createMeter(deps);
  const workspaces = createLiveWorkspaces(deps);
  async function context(runId: string): Promise<{ run: RunRow; prepared: PreparedTask }> {
    const run = await getRun(deps.db, runId);
    if (!run) throw ApplicationFailure.nonRetryable(`run ${runId} not found`, ErrorType.NotFound);
    if (!run.task_id) throw ApplicationFailure.nonRetryable(`run ${runId} has no task yet`, ErrorType.NotFound);
    const prepared = await prepareLibraryTask(deps, run.task_id);
    if (!prepared)
      throw ApplicationFailure.nonRetryable(
        `task ${run.task_id} is not in ${deps.config.MLR_TASKS_DIR}`,
        ErrorType.NotFound,
      );
    return { run, prepared };
  }

  /** The run's context and its live working copy, as the newest committed step left it (live-workspace.ts). */
  async function live(runId: string): Promise<{ run: RunRow; prepared: PreparedTask; ws: Workspace }> {
    const { run, prepared } = await context(runId);
    return { run, prepared, ws: await workspaces.open(runId, prepared) };
  }

  /**
   * One recorded execution. A finished one with the same key is returned as it is; one left `running`
   * by a dead worker is run again (the executor first stops what it left behind). Measured roles run a
   * fresh copy of the stored snapshot `codeHash`; the agent's own tries run in its live workspace.
   */
  async function execute(e: {
    key: string;
    role: ExperimentRow['role'];
    run: RunRow;
    attempt: number;
    prepared: PreparedTask;
    codeHash: string;
    seed?: number;
    script?: string;
    /** The agent's own execution under a working-time limit: what is left of that time. */
    agentTimeLeftMs?: number;
  }): Promise<ExperimentRow> {
    const done = await experimentByKey(deps.db, e.key);
    if (done && done.status !== 'running') return voidIfTampered(done);
    const seed = e.seed ?? deps.config.MLR_EXPERIMENT_SEED;
    const taskId = e.prepared.task.id;
    const start = () =>
      startExperiment(deps.db, {
        runId: e.run.id,
        key: e.key,
        role: e.role,
        attempt: e.attempt,
        taskId,
        taskFingerprint: e.prepared.fingerprint,
        codeHash: e.codeHash,
        seed,
        script: e.script ?? 'train.py',
      });
    const fixed = e.prepared.task.baseline;
    if (e.role === 'baseline' && fixed !== undefined) {
      // The task declares its baseline (its starter is not meant to run): recorded as such, never executed.
      const row = await start();
      const from = e.prepared.task.baselineFrom === 'upstream' ? "upstream's plot.py" : 'task.json';
      const note = `fixed baseline: ${e.prepared.task.metric} = ${fixed}, declared in ${from}; the starter is not run\n`;
      return finishExperiment(deps.db, row.id, {
        status: 'succeeded',
        exitCode: null,
        durationMs: 0,
        peakMemoryMb: null,
        metrics: { [e.prepared.task.metric]: fixed, fixedBaseline: { declaredIn: from } },
        logTail: note,
        log: await deps.store.put(`logs/${row.id}.log`, Buffer.from(note)),
        networkIsolated: true,
        sandbox: 'none',
        backend: 'fixed',
        readOnlyViolations: [],
      });
    }
    const resources = resourcesFor(e.prepared.task, deps.config, e.run.input?.resources);
    const workspace: WorkspaceRef =
      e.role === 'agent'
        ? { kind: 'live', runId: e.run.id, taskId }
        : { kind: 'snapshot', runId: e.run.id, taskId, codeHash: e.codeHash };
    const timeoutMs = executionTimeoutMs({
      taskSeconds: e.prepared.task.timeoutSeconds,
      profile: e.run.input?.benchmark?.profile,
      configMs: deps.config.MLR_EXEC_TIMEOUT_MS,
      ...(e.agentTimeLeftMs !== undefined ? { agentTimeLeftMs: e.agentTimeLeftMs } : {}),
    });
    const metered = { key: e.key, runId: e.run.id, stage: e.role, timeoutMs, gpus: resources.gpus };
    // Reserved before anything starts: a refused reservation leaves no execution behind, and the workflow
    // waits (for a top-up, or for one of the campaign's job slots) before it asks again.
    const maxJobs = e.run.input?.campaign?.maxConcurrentJobs;
    let rowId = '';
    const result = await meter.execution({ ...metered, cpus: resources.cpu ?? 1, maxJobs }, async () => {
      const row = await start();
      rowId = row.id;
      return withHeartbeat((signal) =>
        deps.executor.execute({
          backend: e.run.input?.executor, // the run's own choice, if it made one (POST /v1/runs)
          key: e.key,
          workspace,
          script: e.script ?? 'train.py',
          seed,
          timeoutMs,
          resources,
          metricName: e.prepared.task.metric,
          logKey: `logs/${row.id}.log`,
          signal,
          abortMode: abortModeOfActivity,
          onProgress: heartbeatWith,
        }),
      ).catch((err: unknown) => {
        // No retry can build a sandbox this host lacks, or make a changed prepared task trustworthy again:
        // the run stops and says what to install, set or remove.
        if (err instanceof SandboxUnavailableError) {
          throw ApplicationFailure.nonRetryable(
            `experiment code cannot run: ${err.message}`,
            ErrorType.SandboxUnavailable,
          );
        }
        if (err instanceof TamperedTaskError)
          throw ApplicationFailure.nonRetryable(err.message, ErrorType.SandboxViolation);
        throw err;
      });
    });
    if (result.status === 'cancelled' && !cancelledByWorkflow() && !(await runEnded(e.run.id))) {
      // Not the run's cancel: the worker is going away, or this attempt lost its activity (timed out) while the
      // run goes on. The row stays `running`, so the live attempt runs the execution again instead of finding it
      // recorded as cancelled (which once failed a benchmark run's baseline with "did not run: cancelled").
      throw new Error('this attempt lost its activity during the execution; the next attempt runs it again');
    }
    return voidIfTampered(await finishExperiment(deps.db, rowId, result));
  }

  /** The run is over (its workflow may be gone with it): nobody retries its executions. */
  async function runEnded(runId: string): Promise<boolean> {
    const run = await getRun(deps.db, runId);
    return !run || isFinished(run.status as RunStatus, run.until);
  }

  /**
   * A measured execution that changed the task's read-only files (its data, eval helpers) cannot be
   * trusted, whatever the agent does next: not worth a debug iteration. The agent's own tries see the
   * failure as an observation instead.
   */
  function voidIfTampered(row: ExperimentRow): ExperimentRow {
    if (row.role !== 'agent' && row.error?.startsWith(READ_ONLY_VIOLATION)) {
      throw ApplicationFailure.nonRetryable(
        `sandbox violation: the ${row.role} changed read-only files: ${row.error.slice(READ_ONLY_VIOLATION.length + 2)}`,
        ErrorType.SandboxViolation,
      );
    }
    return row;
  }

  return { context, live, commit: workspaces.commit, execute };
}

/**
 * What a benchmark's run (no paper, no idea) is measured against in its report: the task's own research
 * problem, stated as an idea. The agent never sees it: it gets the research problem alone.
 */
export function taskIdea(task: Task): Idea {
  const problem = task.researchProblem.slice(0, 4000) || task.name;
  return {
    title: `Benchmark: ${task.name}`,
    problem,
    motivation: 'A benchmark run: the agent works from the research problem alone.',
    hypothesis: `The agent's changes improve ${task.metric} over the unmodified starter code.`,
    experimentPlan: {
      steps: ['Work on the research problem from the starter code', 'Measure the final code against the starter'],
      dataset: task.domain,
      model: 'as the agent chooses',
      metric: task.metric,
      baseline: 'the unmodified starter code',
      expectedOutcome: `a relative improvement of ${task.metric} over 10% (upstream's success rule)`,
    },
    noveltyScore: 1,
    feasibilityScore: 10,
    rationale: 'benchmark',
  };
}

export async function selectedIdea(db: Queryable, run: RunRow, task?: Task): Promise<Idea> {
  if (!run.paper_id && task) return taskIdea(task);
  const idea = run.selected_idea_id ? await getIdea(db, run.selected_idea_id) : undefined;
  if (!idea) throw ApplicationFailure.nonRetryable(`run ${run.id} has no selected idea`, ErrorType.NotFound);
  return idea.body;
}

/** Stores a content-addressed snapshot of the workspace code with its diff against the starter code. */
export async function storeSnapshot(
  db: Queryable,
  store: ArtifactStore,
  runId: string,
  ws: Workspace,
): Promise<string> {
  const snap = ws.snapshot();
  if (await snapshotExists(db, runId, snap.codeHash)) return snap.codeHash;
  for (const [file, sha] of Object.entries(snap.files))
    await store.put(`blobs/${sha}`, fs.readFileSync(path.join(ws.root, file)));
  const base = (await starterManifest(db, runId)) ?? snap.files;
  const pairs: FilePair[] = [];
  for (const file of [...new Set([...Object.keys(base), ...Object.keys(snap.files)])].sort()) {
    if (base[file] === snap.files[file]) continue;
    const before = base[file] ? (await store.get(store.uri(`blobs/${base[file]}`))).toString('utf8') : '';
    const after = snap.files[file] ? fs.readFileSync(path.join(ws.root, file), 'utf8') : '';
    pairs.push({ from: `a/${file}`, to: `b/${file}`, before, after });
  }
  const patches = await patchesOffLoop(pairs);
  // Files too large to snapshot are named in the diff, so the record says what it does not hold.
  const skipped = snap.skipped.map(
    (f) => `# not in the snapshot (over ${MAX_SNAPSHOT_FILE_BYTES} bytes): ${f.path} (${f.bytes} bytes)`,
  );
  const diff = [...skipped, ...patches].join('\n');
  await insertSnapshot(db, { runId, codeHash: snap.codeHash, manifest: snap.files, diff });
  return snap.codeHash;
}

// ExperimentAgent activities: choosing the task, the workspace, executions (baseline and candidate),
// and the result. Each is idempotent: a retried activity finds what an earlier attempt stored.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { finalEntryPoint } from '../db/agent';
import { profileOf } from './agent-profiles';
import { appendEvent } from '../db/events';
import { cachedBaseline, experimentByKey, experimentsByIds, type ExperimentRow } from '../db/experiments';
import { getRun, patchRun, type RunRow } from '../db/runs';
import { ErrorType } from '../errors';
import { listTasks, type PreparedTask } from '../tasks/library';
import type { ActivityDeps } from './deps';
import type { RunResult } from '../domain/run';
import { createRunContext, selectedIdea, storeSnapshot } from './run-context';
import { structuredCall } from './structured';
import { withHeartbeat } from './heartbeat';
import { createHubAccess } from './hub';
import { HubError, type HubKind } from '../domain/hub';

export type { RunResult };

export interface ExperimentSummary {
  id: string;
  status: ExperimentRow['status'];
  codeHash: string;
  value?: number;
  error?: string;
  logTail: string;
  cached: boolean;
}

export function computeResult(
  metric: string,
  direction: 'max' | 'min',
  baselines: ExperimentRow[],
  candidate: ExperimentRow,
  fixed = false,
): RunResult {
  // The mean of the baseline executions: one noisy draw of the starter would be every run's yardstick.
  const b = baselines.reduce((a, r) => a + Number(r.metrics![metric]), 0) / baselines.length;
  const v = Number(candidate.metrics![metric]);
  const improvement = direction === 'max' ? v - b : b - v;
  return {
    metric,
    direction,
    baseline: b,
    value: v,
    improvement,
    relativeImprovement: b !== 0 ? improvement / Math.abs(b) : null,
    baselineExperimentId: baselines[0]!.id,
    candidateExperimentId: candidate.id,
    baselineOf: fixed
      ? { kind: 'fixed' }
      : { kind: 'measured', executions: baselines.length, experimentIds: baselines.map((r) => r.id) },
  };
}

const summary = (row: ExperimentRow, metric: string, cached: boolean): ExperimentSummary => ({
  id: row.id,
  status: row.status,
  codeHash: row.code_hash,
  cached,
  logTail: (row.log_tail ?? '').slice(-4000),
  value: row.metrics && typeof row.metrics[metric] === 'number' ? (row.metrics[metric] as number) : undefined,
  error: row.error ?? undefined,
});

export function createExperimentActivities(deps: ActivityDeps) {
  const { db, config } = deps;
  const { context, live, execute } = createRunContext(deps);
  const seed = config.MLR_EXPERIMENT_SEED;
  const hub = deps.hub ? createHubAccess({ db, hub: deps.hub, config }) : undefined;

  /**
   * The retrieval step: each Hub repository the approved plan names, fetched pinned and recorded, or the reason it
   * was not (an event the agent's task message points to). A refusal or an outage never fails the run: the agent
   * is told and can search for another.
   */
  async function retrievePlanned(runId: string, wanted: Array<{ kind: HubKind; id: string }>): Promise<void> {
    for (const w of wanted) {
      try {
        if (!hub) throw new HubError('unavailable', 'the Hub is not available to this service');
        const f = await hub.fetch(runId, w.kind, w.id);
        await appendEvent(db, runId, 'hub_retrieval', {
          ...w,
          revision: f.revision,
          bytes: f.bytes,
          licence: f.licence,
        });
      } catch (err) {
        if (!(err instanceof HubError)) throw err;
        await appendEvent(db, runId, 'hub_retrieval', { ...w, error: err.message, reason: err.kind });
      }
    }
  }

  /** The seeds of a run's baseline executions: the profile's count from MLR_EXPERIMENT_SEED; one when fixed. */
  const baselineSeeds = (run: RunRow, prepared: PreparedTask): number[] => {
    const n = prepared.task.baseline !== undefined ? 1 : profileOf(run.input).baselineRuns;
    return Array.from({ length: n }, (_, i) => seed + i);
  };
  const baselineKey = (run: RunRow, s: number) => `${run.id}:baseline:${run.starter_hash!}:${s}`;
  const fingerprinted = (prepared: PreparedTask) => ({ id: prepared.task.id, fingerprint: prepared.fingerprint });

  /** A finished baseline at this seed: this run's own, or another run's cached one. */
  async function findBaseline(run: RunRow, prepared: PreparedTask, s: number): Promise<ExperimentRow | undefined> {
    const own = await experimentByKey(db, baselineKey(run, s));
    return own?.status === 'succeeded' ? own : cachedBaseline(db, fingerprinted(prepared), run.starter_hash!, s);
  }

  /** The baseline at this seed, from the cache or measured now (keyed per run: one in progress is never shared). */
  async function baselineAt(
    run: RunRow,
    prepared: PreparedTask,
    s: number,
  ): Promise<{ row: ExperimentRow; cached: boolean }> {
    const cached = await cachedBaseline(db, fingerprinted(prepared), run.starter_hash!, s);
    if (cached) {
      // On the run's record too: which execution, of which run, stands as its baseline at this seed.
      if (cached.run_id !== run.id) {
        await appendEvent(db, run.id, 'experiment', {
          role: 'baseline',
          id: cached.id,
          status: cached.status,
          seed: s,
          cachedFrom: cached.run_id,
        });
      }
      return { row: cached, cached: cached.run_id !== run.id };
    }
    const row = await execute({
      key: baselineKey(run, s),
      role: 'baseline',
      run,
      attempt: 0,
      prepared,
      codeHash: run.starter_hash!,
      seed: s,
    });
    await appendEvent(db, run.id, 'experiment', { role: 'baseline', id: row.id, status: row.status, seed: s });
    return { row, cached: false };
  }

  return {
    /** The approved idea's plan matched to a library task by the model, unless the request pinned one. */
    async selectTask({ runId }: { runId: string }): Promise<{ taskId: string }> {
      const run = await getRun(db, runId);
      if (!run) throw ApplicationFailure.nonRetryable(`run ${runId} not found`, ErrorType.NotFound);
      if (run.task_id) return { taskId: run.task_id };
      const tasks = listTasks(config.MLR_TASKS_DIR);
      if (tasks.length === 0)
        throw ApplicationFailure.nonRetryable(`no tasks in ${config.MLR_TASKS_DIR}`, ErrorType.NotFound);
      const idea = await selectedIdea(db, run);
      const schema = z.object({
        taskId: z.enum(tasks.map((t) => t.id) as [string, ...string[]]),
        rationale: z.string().min(1).max(2000),
      });
      const choice = await withHeartbeat((signal) =>
        structuredCall(deps, {
          runId,
          role: 'agent',
          callKey: 'select-task',
          name: 'task_choice',
          schema,
          signal,
          messages: [
            {
              role: 'system',
              content: 'Match a research idea to the prototype task that can test it. Answer with JSON.',
            },
            {
              role: 'user',
              content: `Idea: ${JSON.stringify({ title: idea.title, hypothesis: idea.hypothesis, plan: idea.experimentPlan })}\n\nTasks:\n${tasks.map((t) => `- ${t.id}: ${t.domain}; metric ${t.metric} (${t.direction}); tags ${t.tags.join(', ')}\n  ${t.researchProblem.split('\n')[0]}`).join('\n')}`,
            },
          ],
        }),
      );
      await patchRun(db, runId, { task_id: choice.taskId });
      await appendEvent(db, runId, 'task', { taskId: choice.taskId, rationale: choice.rationale });
      return { taskId: choice.taskId };
    },

    async setupWorkspace({ runId }: { runId: string }): Promise<{ starterHash: string }> {
      const { run, ws } = await live(runId);
      if (run.starter_hash) return { starterHash: run.starter_hash };
      // The plan's Hub models and datasets, before the agent starts (idempotent: a retry pins them again).
      if (run.paper_id && run.selected_idea_id)
        await retrievePlanned(runId, (await selectedIdea(db, run)).experimentPlan.hub ?? []);
      // The snapshot first, then the run names it: a worker lost between the two left a run whose starter
      // snapshot was never stored, which the retry (seeing starter_hash set) never stored either.
      const starterHash = await storeSnapshot(db, deps.store, runId, ws);
      await patchRun(db, runId, { starter_hash: starterHash });
      return { starterHash };
    },

    /**
     * The unmodified starter code at the profile's baseline seeds (consecutive from MLR_EXPERIMENT_SEED), each
     * cached by task fingerprint, code hash and seed across runs; the first that fails stops here.
     */
    async runBaseline({ runId }: { runId: string }): Promise<ExperimentSummary> {
      const { run, prepared } = await context(runId);
      let first: ExperimentSummary | undefined;
      for (const s of baselineSeeds(run, prepared)) {
        const { row, cached } = await baselineAt(run, prepared, s);
        const shown = summary(row, prepared.task.metric, cached);
        first ??= shown;
        if (row.status !== 'succeeded') return shown;
      }
      return first!;
    },

    async runCandidate({ runId, attempt }: { runId: string; attempt: number }): Promise<ExperimentSummary> {
      const { run, prepared, ws } = await live(runId);
      const codeHash = await storeSnapshot(db, deps.store, runId, ws);
      const key = `${runId}:candidate:${attempt}`;
      // The script the agent named in its final answer (its work may live in train_v2.py), else train.py.
      const script = (await finalEntryPoint(db, runId)) ?? 'train.py';
      const row = await execute({ key, role: 'candidate', run, attempt, prepared, codeHash, script });
      await appendEvent(db, runId, 'experiment', {
        role: 'candidate',
        id: row.id,
        attempt,
        status: row.status,
        error: row.error,
      });
      return summary(row, prepared.task.metric, false);
    },

    async recordResult({
      runId,
      baselineId,
      candidateId,
    }: {
      runId: string;
      baselineId: string;
      candidateId: string;
    }): Promise<RunResult> {
      const { run, prepared } = await context(runId);
      const byId = new Map((await experimentsByIds(db, [baselineId, candidateId])).map((r) => [r.id, r]));
      const candidate = byId.get(candidateId);
      // The baseline the workflow measured against (the first seed), then the run's other baseline seeds, as
      // measured or found cached; a run from before several existed has the one.
      const baselines = [byId.get(baselineId)!];
      for (const s of baselineSeeds(run, prepared).slice(1)) {
        const found = await findBaseline(run, prepared, s);
        if (found?.status === 'succeeded') baselines.push(found);
      }
      const result = computeResult(
        prepared.task.metric,
        prepared.task.direction,
        baselines,
        candidate!,
        prepared.task.baseline !== undefined,
      );
      await patchRun(db, runId, { result });
      return result;
    },
  };
}

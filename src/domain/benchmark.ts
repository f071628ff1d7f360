// How a benchmark is scored, as MLAgentBench scores agents (snap-stanford/MLAgentBench, MLAgentBench/plot.py):
// a run succeeds when its final score improves on the baseline by more than 10%, relatively and in the
// task's direction (`improve_10` on `final_score`); a task's result is the rate of successes over its runs.
// As upstream, runs that ended for reasons not the agent's (an outage, a budget stop, a person) are left out of
// that rate's denominator; the rate over every ended run is shown beside it. Rates come with a Wilson 95%
// interval (a handful of runs per task makes a bare rate misleading); the overall row is the mean of the
// per-task rates with a stratified interval, never one binomial pooled across tasks of different difficulty.
import { countsForUpstream, runEnd, type RunEnd } from './run-end';

/** Upstream's threshold: a relative improvement over 10% of the baseline. */
export const SUCCESS_THRESHOLD = 0.1;

export interface BenchmarkRunFacts {
  runId: string;
  taskId: string;
  status: string;
  direction: 'max' | 'min';
  /** Measured baseline and final candidate (the run's result), when the candidate was measured. */
  baseline: number | null;
  value: number | null;
  verdict: string | null;
  /** Why the run failed (runs.error_type), for the accounting of its end. */
  errorType: string | null;
  costUsd: number;
  wallSeconds: number;
}

/** One of upstream's known label leaks, found in a task's starter code (tasks/leaks.ts). */
export interface LeakFlag {
  kind: 'cifar10_test_labels' | 'ogbn_arxiv_all_labels' | 'imdb_test_labels';
  file: string;
  detail: string;
}

export interface RateInterval {
  rate: number | null;
  interval: [number, number] | null;
}

export interface TaskResult {
  task: string;
  /** Runs in upstream's denominator: those that measured a candidate or failed by the agent's own doing. */
  runs: number;
  successes: number;
  /** Successes over `runs` (upstream's rate), with its Wilson interval. */
  successRate: number | null;
  successInterval: [number, number] | null;
  /** The rate over every ended run, outages, budget stops and people's stops included. */
  allRuns: { runs: number; successes: number; successRate: number | null; successInterval: [number, number] | null };
  /** How each run ended. */
  ends: Record<RunEnd, number>;
  /** Mean and median relative improvement over the runs that measured a candidate, positive = better. */
  meanImprovement: number | null;
  medianImprovement: number | null;
  /** Runs whose baseline is so near zero that a relative improvement means nothing: left out of both. */
  nearZeroBaselines: number;
  verdicts: Record<string, number>;
  costUsd: number;
  meanWallSeconds: number | null;
  /** Known label leaks in the task's starter code: a success there may be a lookup. */
  leaks: LeakFlag[];
}

export interface OverallResult extends TaskResult {
  /** The mean of the per-task rates (tasks with a rate), as `successRate`; kept under this name as well. */
  meanTaskSuccessRate: number | null;
  /** How the overall interval was computed. */
  intervalMethod: string;
}

/** Baselines smaller than this in magnitude make relative improvements explode (upstream's fathomnet: 1e-10). */
export const NEAR_ZERO_BASELINE = 1e-6;

/** Wilson score interval for a binomial proportion (z = 1.96 for 95%). */
export function wilson(successes: number, n: number, z = 1.96): RateInterval {
  if (n === 0) return { rate: null, interval: null };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { rate: p, interval: [Math.max(0, centre - half), Math.min(1, centre + half)] };
}

/** (final - baseline) / |baseline|, sign-adjusted so that positive is better; null without a usable baseline. */
export function relativeImprovement(baseline: number, value: number, direction: 'max' | 'min'): number | null {
  if (!Number.isFinite(baseline) || !Number.isFinite(value) || baseline === 0) return null;
  const change = (value - baseline) / Math.abs(baseline);
  return direction === 'max' ? change : -change;
}

const EMPTY_ENDS = (): Record<RunEnd, number> => ({
  completed: 0,
  agent: 0,
  infrastructure: 0,
  budget: 0,
  human: 0,
  running: 0,
});

export const endOf = (r: BenchmarkRunFacts): RunEnd => runEnd(r.status, r.errorType, r.value !== null);

/** A success as upstream counts it: a run that ended having measured a candidate more than 10% better. */
export function succeeded(r: BenchmarkRunFacts): boolean {
  if (endOf(r) !== 'completed' || r.baseline === null || r.value === null) return false;
  const rel = relativeImprovement(r.baseline, r.value, r.direction);
  return rel !== null && rel > SUCCESS_THRESHOLD;
}

const meanOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function medianOf(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function summarise(task: string, runs: BenchmarkRunFacts[]): TaskResult {
  const ends = EMPTY_ENDS();
  for (const r of runs) ends[endOf(r)] += 1;
  const ended = runs.filter((r) => endOf(r) !== 'running');
  const counted = ended.filter((r) => countsForUpstream(endOf(r)));
  const successes = counted.filter(succeeded).length;
  const { rate, interval } = wilson(successes, counted.length);
  const allSuccesses = ended.filter(succeeded).length;
  const all = wilson(allSuccesses, ended.length);
  const measured = ended.filter((r) => r.baseline !== null && r.value !== null);
  const nearZero = measured.filter((r) => Math.abs(r.baseline!) < NEAR_ZERO_BASELINE);
  const improvements = measured
    .filter((r) => Math.abs(r.baseline!) >= NEAR_ZERO_BASELINE)
    .map((r) => relativeImprovement(r.baseline!, r.value!, r.direction))
    .filter((v): v is number => v !== null);
  const verdicts: Record<string, number> = {};
  for (const r of counted) verdicts[r.verdict ?? 'none'] = (verdicts[r.verdict ?? 'none'] ?? 0) + 1;
  return {
    task,
    runs: counted.length,
    successes,
    successRate: rate,
    successInterval: interval,
    allRuns: { runs: ended.length, successes: allSuccesses, successRate: all.rate, successInterval: all.interval },
    ends,
    meanImprovement: meanOf(improvements),
    medianImprovement: medianOf(improvements),
    nearZeroBaselines: nearZero.length,
    verdicts,
    costUsd: runs.reduce((a, r) => a + r.costUsd, 0),
    meanWallSeconds: meanOf(ended.map((r) => r.wallSeconds)),
    leaks: [],
  };
}

/**
 * The mean of per-task rates with a stratified 95% interval: each task contributes its own binomial variance
 * (Agresti–Coull's adjusted proportion, so a task at 0% or 100% still carries its uncertainty), weighted 1/T.
 */
export function stratifiedMean(tasks: Array<{ successes: number; runs: number }>, z = 1.96): RateInterval {
  const rated = tasks.filter((t) => t.runs > 0);
  if (rated.length === 0) return { rate: null, interval: null };
  const t = rated.length;
  const rate = rated.reduce((a, r) => a + r.successes / r.runs, 0) / t;
  const variance =
    rated.reduce((a, r) => {
      const p = (r.successes + (z * z) / 2) / (r.runs + z * z);
      return a + (p * (1 - p)) / (r.runs + z * z);
    }, 0) /
    (t * t);
  const half = z * Math.sqrt(variance);
  return { rate, interval: [Math.max(0, rate - half), Math.min(1, rate + half)] };
}

/** Per task (in the order given) and overall (the mean of the tasks' rates, never one pooled binomial). */
export function benchmarkResults(
  taskIds: string[],
  runs: BenchmarkRunFacts[],
  leaks: Map<string, LeakFlag[]> = new Map(),
): { tasks: TaskResult[]; overall: OverallResult } {
  const tasks = taskIds.map((t) => ({
    ...summarise(
      t,
      runs.filter((r) => r.taskId === t),
    ),
    leaks: leaks.get(t) ?? [],
  }));
  const totals = summarise('overall', runs);
  const upstream = stratifiedMean(tasks);
  const all = stratifiedMean(tasks.map((t) => t.allRuns));
  return {
    tasks,
    overall: {
      ...totals,
      successRate: upstream.rate,
      successInterval: upstream.interval,
      allRuns: { ...totals.allRuns, successRate: all.rate, successInterval: all.interval },
      meanTaskSuccessRate: upstream.rate,
      leaks: tasks.flatMap((t) => t.leaks),
      intervalMethod: 'mean of per-task rates; stratified normal interval with Agresti–Coull per-task variances',
    },
  };
}

// How a benchmark is scored, as MLAgentBench scores agents (snap-stanford/MLAgentBench, MLAgentBench/plot.py):
// a run succeeds when its final score improves on the baseline by more than 10%, relatively and in the
// task's direction (`improve_10` on `final_score`); a task's result is the rate of successes over its runs.
// Here the rate comes with a Wilson 95% interval (a handful of runs per task makes a bare rate misleading),
// and beside it the mean relative improvement and the seed-validated verdicts this service adds.

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
  costUsd: number;
  wallSeconds: number;
}

export interface RateInterval {
  rate: number | null;
  interval: [number, number] | null;
}

export interface TaskResult {
  task: string;
  /** Finished runs counted (cancelled ones never attempted the task and are left out). */
  runs: number;
  successes: number;
  successRate: number | null;
  successInterval: [number, number] | null;
  /** Mean relative improvement over the runs that measured a candidate, positive = better. */
  meanImprovement: number | null;
  verdicts: Record<string, number>;
  costUsd: number;
  meanWallSeconds: number | null;
}

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

export function succeeded(r: BenchmarkRunFacts): boolean {
  if (r.status !== 'succeeded' || r.baseline === null || r.value === null) return false;
  const rel = relativeImprovement(r.baseline, r.value, r.direction);
  return rel !== null && rel > SUCCESS_THRESHOLD;
}

const FINISHED = new Set(['succeeded', 'failed', 'rejected']);

function summarise(task: string, runs: BenchmarkRunFacts[]): TaskResult {
  const counted = runs.filter((r) => FINISHED.has(r.status));
  const successes = counted.filter(succeeded).length;
  const { rate, interval } = wilson(successes, counted.length);
  const improvements = counted
    .filter((r) => r.baseline !== null && r.value !== null)
    .map((r) => relativeImprovement(r.baseline!, r.value!, r.direction))
    .filter((v): v is number => v !== null);
  const verdicts: Record<string, number> = {};
  for (const r of counted) verdicts[r.verdict ?? 'none'] = (verdicts[r.verdict ?? 'none'] ?? 0) + 1;
  const walls = counted.map((r) => r.wallSeconds);
  return {
    task,
    runs: counted.length,
    successes,
    successRate: rate,
    successInterval: interval,
    meanImprovement: improvements.length ? improvements.reduce((a, b) => a + b, 0) / improvements.length : null,
    verdicts,
    costUsd: runs.reduce((a, r) => a + r.costUsd, 0),
    meanWallSeconds: walls.length ? walls.reduce((a, b) => a + b, 0) / walls.length : null,
  };
}

/** Per task (in the order given) and overall (every run pooled). */
export function benchmarkResults(
  taskIds: string[],
  runs: BenchmarkRunFacts[],
): { tasks: TaskResult[]; overall: TaskResult & { meanTaskSuccessRate: number | null } } {
  const tasks = taskIds.map((t) =>
    summarise(
      t,
      runs.filter((r) => r.taskId === t),
    ),
  );
  const rated = tasks.map((t) => t.successRate).filter((r): r is number => r !== null);
  return {
    tasks,
    overall: {
      ...summarise('overall', runs),
      meanTaskSuccessRate: rated.length ? rated.reduce((a, b) => a + b, 0) / rated.length : null,
    },
  };
}

// MLAgentBench's scoring (snap-stanford/MLAgentBench, MLAgentBench/plot.py) re-implemented from its description,
// independently of src/domain/benchmark.ts, so the two can be compared on the same recorded results:
//  - runs whose log shows an error, a connection error, CUDA OOM or an MKL clash are dropped (for most agents);
//  - a final score at or below 0 counts as none (a failure, kept in the denominator);
//  - the baseline of a task is the mean of its baseline runs' final scores, or a hard-coded number;
//  - `improve_10`: (final - baseline) / baseline > 0.1, or < -0.1 for the lower-is-better tasks;
//  - a task's success rate is the mean of improve_10 over its remaining runs.

export interface RecordedRun {
  task: string;
  /** The agent's final score, or null when it left none. */
  finalScore: number | null;
  /** Upstream's error flags, as its logs would show them; `agent` for a failure of the agent's own. */
  error: null | 'agent' | 'connection' | 'oom' | 'mkl';
}

export interface RecordedTask {
  task: string;
  direction: 'max' | 'min';
  /** Final scores of the baseline (unmodified starter) runs. */
  baselineRuns: number[];
  /** A hard-coded baseline where upstream has one (imdb 0.5, fathomnet 1e-10, house-price 1e10, ...). */
  fixedBaseline?: number;
}

export function upstreamBaseline(t: RecordedTask): number {
  if (t.fixedBaseline !== undefined) return t.fixedBaseline;
  return t.baselineRuns.reduce((a, b) => a + b, 0) / t.baselineRuns.length;
}

/** improve_10 of one run, as plot.py's get_improvement with thresh = 0.1. */
export function improve10(t: RecordedTask, r: RecordedRun): boolean {
  const score = r.finalScore !== null && r.finalScore > 0 ? r.finalScore : null;
  if (score === null) return false;
  const b = upstreamBaseline(t);
  const change = (score - b) / b;
  return t.direction === 'min' ? change < -0.1 : change > 0.1;
}

/** Per task: the runs kept (infrastructure errors dropped) and the rate of improve_10 among them. */
export function upstreamRates(
  tasks: RecordedTask[],
  runs: RecordedRun[],
): Array<{ task: string; runs: number; rate: number | null }> {
  return tasks.map((t) => {
    const kept = runs.filter((r) => r.task === t.task && (r.error === null || r.error === 'agent'));
    const wins = kept.filter((r) => improve10(t, r)).length;
    return { task: t.task, runs: kept.length, rate: kept.length ? wins / kept.length : null };
  });
}

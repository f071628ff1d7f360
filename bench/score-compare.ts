// Scores one set of recorded results both ways and prints them side by side: this project's rule
// (src/domain/benchmark.ts) and upstream's plot.py logic re-implemented from its description (upstream-plot.ts).
// Usage: npm run bench:scoring [-- path/to/results.json]   (default: bench/fixtures/scoring-example.json)
import fs from 'node:fs';
import path from 'node:path';
import { benchmarkResults, type BenchmarkRunFacts } from '../src/domain/benchmark';
import { upstreamBaseline, upstreamRates, type RecordedRun, type RecordedTask } from './upstream-plot';

export interface RecordedSet {
  tasks: RecordedTask[];
  runs: RecordedRun[];
}

/**
 * A recorded run as this service would have stored it: a score above 0 is a measured candidate; the agent's own
 * failure (or a score the task declares invalid, <= 0) is ExperimentFailed; a connection error is the model
 * endpoint's outage; CUDA OOM and an MKL clash are the environment's (upstream drops all three).
 */
export function asFacts(set: RecordedSet): BenchmarkRunFacts[] {
  const errorType = {
    agent: 'ExperimentFailed',
    connection: 'LlmUnavailable',
    oom: 'SandboxUnavailable',
    mkl: 'SandboxUnavailable',
  };
  return set.runs.map((r, i) => {
    const task = set.tasks.find((t) => t.task === r.task)!;
    const measured = r.error === null && r.finalScore !== null && r.finalScore > 0;
    return {
      runId: String(i),
      taskId: r.task,
      status: measured ? 'succeeded' : 'failed',
      direction: task.direction,
      baseline: upstreamBaseline(task),
      value: measured ? r.finalScore : null,
      verdict: null,
      errorType: measured ? null : errorType[r.error ?? 'agent'],
      costUsd: 0,
      wallSeconds: 0,
    };
  });
}

export function compareScoring(set: RecordedSet) {
  const ours = benchmarkResults(
    set.tasks.map((t) => t.task),
    asFacts(set),
  );
  const theirs = upstreamRates(set.tasks, set.runs);
  return set.tasks.map((t, i) => ({
    task: t.task,
    upstream: theirs[i]!,
    ours: ours.tasks[i]!,
    agree: theirs[i]!.runs === ours.tasks[i]!.runs && theirs[i]!.rate === ours.tasks[i]!.successRate,
  }));
}

function main(): void {
  const file = process.argv[2] ?? path.join(__dirname, 'fixtures', 'scoring-example.json');
  const set = JSON.parse(fs.readFileSync(file, 'utf8')) as RecordedSet;
  const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)}%`);
  const rows = compareScoring(set);
  console.log(
    'task                 | upstream plot.py   | this service (upstream denominator) | all ended runs | agree',
  );
  for (const r of rows) {
    console.log(
      `${r.task.padEnd(20)} | ${pct(r.upstream.rate).padStart(6)} of ${String(r.upstream.runs).padEnd(8)} | ` +
        `${pct(r.ours.successRate).padStart(6)} of ${String(r.ours.runs).padEnd(26)} | ` +
        `${pct(r.ours.allRuns.successRate).padStart(6)} of ${String(r.ours.allRuns.runs).padEnd(3)} | ${r.agree ? 'yes' : 'NO'}`,
    );
  }
  const agreed = rows.filter((r) => r.agree).length;
  console.log(`${agreed} of ${rows.length} tasks agree on the runs counted and the success rate.`);
  if (agreed !== rows.length) process.exitCode = 1;
}

if (require.main === module) main();

// A benchmark's results on its campaign page: per task and overall, the success rate under upstream's rule with
// its Wilson interval, the mean relative improvement, the validated verdicts, cost and time, and the chart.
import { getJson } from '../api';
import type { Benchmark, TaskResult } from '../types';
import { ErrorBox, money, Section, SvgChart, useAsync } from '../ui';

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(0)}%`);

function Row({ r, overall }: { r: TaskResult; overall?: boolean }) {
  const verdicts = Object.entries(r.verdicts)
    .map(([v, n]) => `${v} ${n}`)
    .join(', ');
  return (
    <tr data-task={overall ? 'overall' : r.task} class={overall ? 'total' : undefined}>
      <td>{overall ? <strong>overall</strong> : r.task}</td>
      <td>
        {r.successes} / {r.runs}
      </td>
      <td>
        {pct(r.successRate)}
        {r.successInterval ? (
          <span class="muted">
            {' '}
            [{pct(r.successInterval[0])}, {pct(r.successInterval[1])}]
          </span>
        ) : null}
      </td>
      <td>{r.meanImprovement === null ? '–' : `${(r.meanImprovement * 100).toFixed(1)}%`}</td>
      <td>{verdicts || '–'}</td>
      <td>{money(r.costUsd)}</td>
      <td>{r.meanWallSeconds === null ? '–' : `${Math.round(r.meanWallSeconds)} s`}</td>
    </tr>
  );
}

export function BenchmarkResults({ id, version }: { id: string; version: number }) {
  const b = useAsync(() => getJson<Benchmark>(`/v1/benchmarks/${id}`), [id, version]);
  return (
    <Section title="Benchmark results">
      <ErrorBox error={b.error} />
      <p class="muted">
        A run succeeds when its final score beats the baseline by more than 10% in the task's direction (MLAgentBench's
        rule); the interval is Wilson's 95%.
      </p>
      <table class="list" data-testid="benchmark">
        <thead>
          <tr>
            <th>Task</th>
            <th>Successes</th>
            <th>Success rate (95% CI)</th>
            <th>Mean improvement</th>
            <th>Verdicts</th>
            <th>Cost</th>
            <th>Mean time</th>
          </tr>
        </thead>
        <tbody>
          {b.data?.results.tasks.map((r) => (
            <Row key={r.task} r={r} />
          ))}
          {b.data ? <Row r={b.data.results.overall} overall /> : null}
        </tbody>
      </table>
      <SvgChart
        path={`/v1/benchmarks/${id}/report?format=svg`}
        alt="Success rate of each task with its 95% interval"
        version={version}
      />
    </Section>
  );
}

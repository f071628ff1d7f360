// A benchmark's result table as Markdown and its chart as SVG (drawn here: a bar per task with its Wilson
// interval, every label horizontal). Task ids come from folder names and are escaped like any text.
import type { OverallResult, TaskResult } from '../domain/benchmark';

export interface BenchmarkSummary {
  id: string;
  name: string;
  status: string;
  profile: string;
  runsPerTask: number;
  results: { tasks: TaskResult[]; overall: OverallResult };
}

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(0)}%`);
const interval = (i: [number, number] | null) => (i ? `[${pct(i[0])}, ${pct(i[1])}]` : '–');
const signed = (v: number | null) => (v === null ? '–' : `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}%`);
const cell = (s: string) => s.replace(/[|\n]/g, ' ');

function ends(t: TaskResult): string {
  const shown = Object.entries(t.ends).filter(([, n]) => n > 0);
  return shown.map(([k, n]) => `${k} ${n}`).join(', ') || '–';
}

function row(t: TaskResult): string {
  const verdicts = Object.entries(t.verdicts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const improvement =
    `${signed(t.medianImprovement)} / ${signed(t.meanImprovement)}` +
    (t.nearZeroBaselines ? ` (${t.nearZeroBaselines} near-zero baseline(s) left out)` : '');
  const all = `${pct(t.allRuns.successRate)} ${interval(t.allRuns.successInterval)} of ${t.allRuns.runs}`;
  return (
    `| ${cell(t.task)} | ${t.runs} | ${t.successes} | ${pct(t.successRate)} ${interval(t.successInterval)} | ${all} | ` +
    `${ends(t)} | ${improvement} | ${cell(verdicts) || '–'} | $${t.costUsd.toFixed(4)} | ` +
    `${t.meanWallSeconds === null ? '–' : `${t.meanWallSeconds.toFixed(0)} s`} |`
  );
}

export function renderBenchmarkMarkdown(b: BenchmarkSummary): string {
  const o = b.results.overall;
  return [
    `# Benchmark: ${b.name}`,
    '',
    `Benchmark \`${b.id}\` · ${b.status} · profile \`${b.profile}\` · ${b.runsPerTask} run(s) per task`,
    '',
    'A run succeeds when its final candidate improves on the measured baseline by more than 10% in the ' +
      "task's direction (MLAgentBench's rule). As upstream, the success rate divides by the runs whose outcome " +
      "is the agent's (a measured candidate, or the agent's own failure); runs stopped by an outage, a budget or " +
      'a person are left out of it, and the rate over every ended run stands beside it. Rates come with a Wilson ' +
      '95% interval. Improvements are relative to the baseline (positive is better), median / mean; verdicts ' +
      "are the seed-validated ones. Each run's baseline is the mean of its profile's executions of the starter " +
      "(mlab: 3 seeds; copilot: 1) or the number the task declares; each run's result says which (baselineOf).",
    '',
    '| task | runs | successes | success rate [95% CI] | over all ended runs | ends | improvement (median / mean) ' +
      '| verdicts | cost | time per run |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...b.results.tasks.map(row),
    row({ ...o, task: '**overall**' }),
    '',
    `Overall: the mean of the per-task success rates, ${pct(o.successRate)} ${interval(o.successInterval)} ` +
      `(${o.intervalMethod}); over all ended runs ${pct(o.allRuns.successRate)}.`,
    '',
    ...(o.leaks.length
      ? [
          "Known label leaks in tasks' starter code (a success there may be a lookup, not a better model):",
          '',
          ...b.results.tasks.flatMap((t) =>
            t.leaks.map((l) => `- ${cell(t.task)}: ${l.detail} (\`${cell(l.file).replace(/`/g, "'")}\`)`),
          ),
          '',
        ]
      : []),
  ].join('\n');
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Success rate per task as a horizontal bar with its Wilson interval. */
export function benchmarkSvg(tasks: TaskResult[]): string {
  const rowH = 28;
  const left = 200;
  const plot = 360;
  const width = left + plot + 60;
  const height = 50 + Math.max(1, tasks.length) * rowH + 30;
  const x = (v: number) => left + v * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14">Success rate per task (upstream rule and denominator, Wilson 95% interval)</text>`,
  ];
  tasks.forEach((t, i) => {
    const y = 40 + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(t.task.slice(0, 30))}</text>`);
    if (t.successRate === null) {
      parts.push(`<text x="${left}" y="${y + 15}" fill="#666">no finished runs</text>`);
      return;
    }
    parts.push(
      `<rect x="${left}" y="${y + 4}" width="${(t.successRate * plot).toFixed(1)}" height="14" fill="#4c78a8"/>`,
    );
    const [lo, hi] = t.successInterval!;
    parts.push(
      `<line x1="${x(lo).toFixed(1)}" x2="${x(hi).toFixed(1)}" y1="${y + 11}" y2="${y + 11}" stroke="black" stroke-width="2"/>`,
      `<text x="${x(1) + 6}" y="${y + 15}">${pct(t.successRate)}</text>`,
    );
  });
  const axisY = 40 + Math.max(1, tasks.length) * rowH + 4;
  parts.push(`<line x1="${left}" x2="${x(1)}" y1="${axisY}" y2="${axisY}" stroke="#999"/>`);
  for (const v of [0, 0.5, 1]) {
    parts.push(`<text x="${x(v)}" y="${axisY + 16}" text-anchor="middle">${pct(v)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

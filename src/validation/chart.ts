import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ValidationRecord } from './report';

/** Per-seed points with each arm's mean (tick) and 95% interval (rule), as a Vega-Lite spec. */
export function chartSpec(v: ValidationRecord): Record<string, unknown> {
  const points = v.runs
    .filter((r) => r.status === 'succeeded' && typeof r.metrics?.[v.metric] === 'number')
    .map((r) => ({ role: r.role, seed: r.seed, value: r.metrics![v.metric] as number }));
  const summary = (['baseline', 'candidate'] as const).map((role) => {
    const s = v[role];
    return { role, mean: s.mean, lo: s.ci[0], hi: s.ci[1] };
  });
  // Category labels read horizontally (Vega-Lite tilts nominal labels by default).
  const x = { field: 'role', type: 'nominal', title: null, sort: ['baseline', 'candidate'], axis: { labelAngle: 0 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${v.metric} over ${v.seeds.length} seeds (${v.direction === 'max' ? 'higher' : 'lower'} is better)`,
    width: 320,
    height: 240,
    layer: [
      {
        data: { values: summary },
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          x,
          // No rotated axis title: the chart's title names the metric, and every label reads horizontally.
          y: { field: 'lo', type: 'quantitative', title: null, scale: { zero: false } },
          y2: { field: 'hi' },
        },
      },
      {
        data: { values: summary },
        mark: { type: 'tick', thickness: 3, size: 30 },
        encoding: { x, y: { field: 'mean', type: 'quantitative' }, color: { value: 'black' } },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 60, opacity: 0.7 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'role', type: 'nominal', legend: null },
          tooltip: [{ field: 'seed' }, { field: 'value' }],
        },
      },
    ],
  };
}

/** Renders a Vega-Lite spec to SVG with vega in a child process (vega is an ES module with top-level await). */
export function renderSvg(spec: object, nodeBinary = process.execPath): Promise<string> {
  const script = path.resolve(__dirname, '../../scripts/render-chart.mjs');
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`chart rendering failed: ${err}`)),
    );
    child.stdin.end(JSON.stringify(spec));
  });
}

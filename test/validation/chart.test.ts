// The report's chart: drawn by Vega-Lite into an SVG that a page can inline, every label horizontal.
import { chartSpec, renderSvg } from '../../src/validation/chart';
import type { ValidationRecord } from '../../src/validation/report';

const arm = (mean: number) => ({ n: 3, mean, sd: 0.01, ci: [mean - 0.02, mean + 0.02] as [number, number] });

const record = {
  metric: 'accuracy',
  direction: 'max',
  seeds: [1, 2, 3],
  alpha: 0.05,
  failedSeeds: 0,
  baseline: arm(0.8),
  candidate: arm(0.9),
  test: 'permutation_exact',
  pValue: 0.1,
  effectSize: 2,
  runs: [1, 2, 3].flatMap((seed) =>
    (['baseline', 'candidate'] as const).map((role) => ({
      role,
      seed,
      codeHash: role,
      experimentId: `${role}-${seed}`,
      status: 'succeeded',
      metrics: { accuracy: (role === 'baseline' ? 0.8 : 0.9) + seed / 1000 },
    })),
  ),
} as unknown as ValidationRecord;

it('draws each arm over its seeds as an SVG whose title names the metric and whose text is never rotated', async () => {
  const svg = await renderSvg(chartSpec(record));
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('accuracy over 3 seeds (higher is better)');
  expect(svg).toContain('baseline');
  expect(svg).toContain('candidate');
  expect(svg).not.toMatch(/rotate\(-?[1-9]/);
}, 30_000);

import { ZERO_SPEND } from '../../src/domain/budget';
import {
  differenceInterval,
  forestSvg,
  leaderboard,
  renderCampaignMarkdown,
  type CampaignRunFacts,
} from '../../src/validation/campaign-report';
import { summarise } from '../../src/validation/stats';
import { compare } from '../../src/validation/verdict';

function facts(slot: number, title: string, baseline: number[], candidate: number[] | null): CampaignRunFacts {
  const v = candidate
    ? {
        ...compare(baseline, candidate, 'accuracy', 'max'),
        metric: 'accuracy',
        direction: 'max' as const,
        seeds: [1, 2, 3],
        alpha: 0.05,
        failedSeeds: 0,
        runs: [],
      }
    : null;
  return {
    runId: `run-${slot}`,
    slot,
    status: candidate ? 'succeeded' : 'failed',
    paper: { id: `p${slot}`, title },
    idea: { id: `i${slot}`, title: `Idea ${slot}` },
    taskId: 'breast-cancer',
    validation: v,
    spend: { ...ZERO_SPEND, usd: 0.5 },
  };
}

describe('the campaign leaderboard', () => {
  it("gives Welch's 95% interval of the mean difference (checked against SciPy)", () => {
    // scipy: ttest_ind([2,3,4],[1,2,3], equal_var=False).confidence_interval() → (-1.26695794, 3.26695794)
    const [lo, hi] = differenceInterval(summarise([1, 2, 3]), summarise([2, 3, 4]), 'max');
    expect(lo).toBeCloseTo(-1.26695794, 6);
    expect(hi).toBeCloseTo(3.26695794, 6);
    // For a lower-is-better metric the sign turns: a lower candidate is a positive effect.
    const [lo2, hi2] = differenceInterval(summarise([2, 3, 4]), summarise([1, 2, 3]), 'min');
    expect([lo2, hi2].map((x) => Number(x.toFixed(3)))).toEqual([-1.267, 3.267]);
    expect(differenceInterval(summarise([1, 1]), summarise([2, 2]), 'max')).toEqual([1, 1]);
  });

  it('ranks validated runs by effect and keeps the others after them, every number from the records', () => {
    const rows = leaderboard([
      facts(0, 'A', [0.7, 0.71, 0.72], [0.8, 0.81, 0.82]),
      facts(1, 'B', [0.7, 0.71, 0.72], null),
      facts(2, 'C', [0.7, 0.71, 0.72], [0.9, 0.91, 0.92]),
    ]);
    expect(rows.map((r) => r.paper.title)).toEqual(['C', 'A', 'B']);
    expect(rows[0]!.effect!.estimate).toBeCloseTo(0.2, 10);
    expect(rows[2]).toMatchObject({ verdict: null, effect: null, pValue: null, pAdjusted: null, status: 'failed' });
  });

  it("adjusts the campaign's p-values by Holm and withdraws a support that does not survive it", () => {
    const rows = leaderboard([
      facts(0, 'A', [0.7, 0.71, 0.72, 0.73], [0.8, 0.81, 0.82, 0.83]),
      facts(1, 'B', [0.7, 0.71, 0.72, 0.73], [0.9, 0.91, 0.92, 0.93]),
      facts(2, 'C', [0.7, 0.71, 0.72, 0.73], null),
    ]);
    // Each alone: every candidate seed above every baseline seed, p = 2/70, supported. Two of them: Holm
    // doubles the smallest, 4/70 ≥ 0.05, and neither survives.
    for (const r of rows.slice(0, 2)) {
      expect(r.pValue).toBeCloseTo(2 / 70, 12);
      expect(r.verdict).toBe('supported');
      expect(r.pAdjusted).toBeCloseTo(4 / 70, 12);
      expect(r.adjustedVerdict).toBe('inconclusive');
    }
    expect(rows[2]).toMatchObject({ pAdjusted: null, adjustedVerdict: null });
    // One comparison alone is its own family: nothing changes.
    const [only] = leaderboard([facts(0, 'A', [0.7, 0.71, 0.72, 0.73], [0.8, 0.81, 0.82, 0.83])]);
    expect([only!.pAdjusted, only!.adjustedVerdict]).toEqual([only!.pValue, 'supported']);
  });

  it('keeps hostile titles out of the markup and the table', () => {
    const rows = leaderboard([facts(0, '<script>alert(1)</script> | evil\n# heading', [1, 2, 3], [2, 3, 4])]);
    const svg = forestSvg(rows);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg.match(/<circle /g)).toHaveLength(1);
    const md = renderCampaignMarkdown(
      {
        id: 'c',
        name: 'n | x',
        status: 'completed',
        runs: { total: 1, byStatus: { succeeded: 1 } },
        spend: ZERO_SPEND,
        budget: { usd: 5 },
      },
      rows,
    );
    const tableRows = md.split('\n').filter((l) => l.startsWith('| <script>'));
    expect(tableRows).toHaveLength(1);
    expect(tableRows[0]!.split('|')).toHaveLength(12); // 10 cells: the title's pipe and newline did not split it
    expect(md).not.toMatch(/^# heading/m);
  });

  it('draws an empty plot that says so when nothing is validated yet', () => {
    expect(forestSvg([])).toContain('No validated effects yet');
  });
});

// Reference values computed with SciPy 1.x (scipy.stats.ttest_ind(equal_var=False), t.ppf,
// permutation_test(n_resamples=inf), special.betainc).
import {
  cohensD,
  incompleteBeta,
  permutationTest,
  summarise,
  tCritical95,
  variance,
  welchTTest,
} from '../../src/validation/stats';
import { compare, MIN_SEEDS } from '../../src/validation/verdict';

describe('statistics', () => {
  it("matches SciPy for Welch's t-test", () => {
    const r = welchTTest([0.7, 0.72, 0.69, 0.71, 0.73], [0.8, 0.78, 0.83, 0.79, 0.81]);
    expect(r.t).toBeCloseTo(8.261843893231644, 9);
    expect(r.df).toBeCloseTo(7.711133400200611, 9);
    expect(r.pValue).toBeCloseTo(4.286093242980963e-5, 12);
    const r2 = welchTTest([1, 2, 3, 4], [2.5, 3.1, 4.7, 5.2, 6.0]);
    expect(r2.pValue).toBeCloseTo(0.09158033851067282, 10);
    expect(r2.df).toBeCloseTo(6.880187682982092, 9);
  });

  it('matches SciPy for t quantiles, the confidence interval and the incomplete beta function', () => {
    expect(tCritical95(4)).toBeCloseTo(2.7764451051977934, 8);
    expect(tCritical95(2)).toBeCloseTo(4.302652729749462, 8);
    expect(tCritical95(29)).toBeCloseTo(2.045229642132703, 8);
    const s = summarise([0.7, 0.72, 0.69, 0.71, 0.73]);
    expect(s.ci[0]).toBeCloseTo(0.6903675683852244, 10);
    expect(s.ci[1]).toBeCloseTo(0.7296324316147755, 10);
    expect(incompleteBeta(0.3, 2.5, 0.5)).toBeCloseTo(0.018927124071945658, 12);
  });

  it('matches SciPy for the exact permutation test', () => {
    expect(permutationTest([1, 2, 3], [4, 5, 6])).toEqual({ pValue: 0.1, permutations: 20 });
    expect(permutationTest([0.5, 0.7, 0.6], [0.65, 0.55, 0.8]).pValue).toBeCloseTo(0.6, 12);
  });

  it("computes Cohen's d with the pooled standard deviation", () => {
    expect(cohensD([1, 2, 3], [2, 3, 4])).toBeCloseTo(1, 12);
    expect(cohensD([1, 1], [1, 1])).toBe(0);
  });
});

describe('the verdict rule', () => {
  const base = [0.7, 0.72, 0.69, 0.71, 0.73];
  it('is supported when p < 0.05 and the candidate is better', () => {
    const c = compare(base, [0.8, 0.78, 0.83, 0.79, 0.81], 'accuracy', 'max');
    expect([c.test, c.verdict]).toEqual(['welch_t', 'supported']);
    expect(c.effectSize).toBeGreaterThan(0);
  });

  it('is not supported when the candidate is significantly worse, or equal', () => {
    expect(compare([0.8, 0.78, 0.83, 0.79, 0.81], base, 'accuracy', 'max').verdict).toBe('not_supported');
    expect(compare(base, base, 'accuracy', 'max').verdict).toBe('not_supported');
  });

  it('honours the direction: lower is better for a min metric', () => {
    const c = compare([60, 61, 59, 60, 62], [50, 51, 49, 52, 50], 'rmse', 'min');
    expect([c.verdict, c.meanImprovement > 0, c.effectSize > 0]).toEqual(['supported', true, true]);
  });

  it('is inconclusive when better on average but p ≥ 0.05', () => {
    // SciPy: Welch p = 0.2141 for these.
    const c = compare([1, 2, 3, 4, 5], [2.5, 3.1, 4.7, 5.2, 6.0], 'score', 'max');
    expect(c.pValue).toBeCloseTo(0.21412137974272946, 10);
    expect(c.verdict).toBe('inconclusive');
  });

  it('uses the exact permutation test below five seeds and says so in the rule', () => {
    const c = compare([1, 2, 3], [4, 5, 6], 'score', 'max');
    expect(c.test).toBe('permutation_exact');
    // With 3 seeds per arm the smallest possible p is 0.1: never supported, however large the gain.
    expect([c.pValue, c.verdict]).toEqual([0.1, 'inconclusive']);
    expect(c.rule).toMatch(/exact two-sided permutation test/);
    // The rule says so, and names the minimum (runs and benchmarks refuse fewer; failed seeds can leave fewer).
    expect(c.rule).toContain("the exact test's smallest p is 0.100, so this comparison cannot be supported");
    expect(c.rule).toContain(`at least ${MIN_SEEDS} are needed`);
  });

  it('can say yes with the minimum of four seeds, and then says nothing about unreachability', () => {
    expect(MIN_SEEDS).toBe(4);
    const c = compare([1, 2, 3, 4], [5, 6, 7, 8], 'score', 'max');
    expect([c.pValue, c.verdict]).toEqual([2 / 70, 'supported']);
    expect(c.rule).not.toContain('cannot be supported');
  });

  it("measures the effect against a baseline without spread over the candidate's own SD", () => {
    // A deterministic baseline: pooling it would shrink the SD by √2 and inflate d; the candidate's SD is the scale.
    const c = compare([0.5, 0.5, 0.5, 0.5], [0.6, 0.62, 0.58, 0.6], 'accuracy', 'max');
    expect(c.effectSize).toBeCloseTo(0.1 / Math.sqrt(variance([0.6, 0.62, 0.58, 0.6])), 10);
    expect(c.effectSize).toBeCloseTo(6.123724356957945, 8);
  });
});

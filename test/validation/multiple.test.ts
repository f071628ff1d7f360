// Reference values: SciPy 1.17 (stats.permutation_test with
// n_resamples=inf, stats.ttest_1samp) and Holm's step-down by hand.
import { choose, holm, minSeedsFor, smallestPermutationP } from '../../src/validation/multiple';
import { oneSampleD, oneSampleTTest, permutationTest } from '../../src/validation/stats';

const ps = [0.01, 0.04, 0.03, 0.005, 0.2];

it("adjusts a campaign's p-values by Holm's step-down, in the order given", () => {
  const adjusted = holm(ps);
  [0.04, 0.09, 0.09, 0.025, 0.2].forEach((v, i) => expect(adjusted[i]).toBeCloseTo(v, 12));
  expect(holm([])).toEqual([]);
  expect(holm([0.6, 0.7])).toEqual([1, 1]);
});

it('knows the smallest p the exact test can give, and so the fewest seeds that can be supported', () => {
  expect(choose(6, 3)).toBe(20);
  expect(smallestPermutationP(2)).toBeCloseTo(1 / 3, 12);
  expect(smallestPermutationP(3)).toBeCloseTo(0.1, 12);
  expect(smallestPermutationP(4)).toBeCloseTo(0.02857142857142857, 12);
  // The bound is reached: four seeds per arm split cleanly give SciPy's p.
  expect(permutationTest([1, 2, 3, 4], [5, 6, 7, 8]).pValue).toBeCloseTo(0.02857142857142857, 12);
  expect(minSeedsFor(0.05)).toBe(4);
  expect(minSeedsFor(0.01)).toBe(5);
});

it('tests against a fixed baseline with a one-sample t-test and its own SD', () => {
  const r = oneSampleTTest([0.81, 0.84, 0.79, 0.83], 0.78);
  expect(r.t).toBeCloseTo(3.382407126012734, 10);
  expect(r.pValue).toBeCloseTo(0.043014906734981345, 10);
  expect(oneSampleTTest([1.2, 0.9, 1.4, 1.1, 1.0], 1).pValue).toBeCloseTo(0.2354963602594433, 10);
  expect(oneSampleTTest([2, 2, 2], 1)).toEqual({ t: Infinity, df: 2, pValue: 0 });
  expect(oneSampleD([0.81, 0.84, 0.79, 0.83], 0.78)).toBeCloseTo(1.691203563006367, 10);
  expect(oneSampleD([1, 1], 1)).toBe(0);
});

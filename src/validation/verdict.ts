import { minSeedsFor, smallestPermutationP } from './multiple';
import { cohensD, oneSampleD, permutationTest, summarise, variance, welchTTest, type Summary } from './stats';

export const ALPHA = 0.05;
/** Below this many seeds per arm the exact permutation test replaces Welch's t-test. */
export const MIN_SEEDS_FOR_WELCH = 5;
/** The fewest seeds per arm a run or benchmark may ask for: below it the exact test could never say yes. */
export const MIN_SEEDS = minSeedsFor(ALPHA);

export type Verdict = 'supported' | 'not_supported' | 'inconclusive';

export interface Comparison {
  baseline: Summary;
  candidate: Summary;
  test: 'welch_t' | 'permutation_exact';
  pValue: number;
  /**
   * Cohen's d of candidate minus baseline, sign-adjusted so positive means better; against a baseline without
   * spread (deterministic or fixed), over the candidate's own SD.
   */
  effectSize: number;
  /** Mean difference, sign-adjusted so positive means better. */
  meanImprovement: number;
  verdict: Verdict;
  rule: string;
}

export function ruleText(metric: string, direction: 'max' | 'min', test: Comparison['test'], seeds: number): string {
  const which =
    test === 'welch_t'
      ? "Welch's two-sided t-test"
      : `an exact two-sided permutation test (fewer than ${MIN_SEEDS_FOR_WELCH} seeds per arm)`;
  const floor = smallestPermutationP(seeds);
  const unreachable =
    test === 'permutation_exact' && floor >= ALPHA
      ? ` With ${seeds} good seeds per arm the exact test's smallest p is ${floor.toFixed(3)}, so this comparison ` +
        `cannot be supported (at least ${MIN_SEEDS} are needed).`
      : '';
  return (
    `Over ${seeds} seeds per arm, the per-seed ${metric} of baseline and candidate is compared with ${which} at α = ${ALPHA}. ` +
    `Supported: p < ${ALPHA} and the candidate's mean is better (${direction === 'max' ? 'higher' : 'lower'} ${metric}). ` +
    "Not supported: the candidate's mean is not better. Inconclusive: the mean is better but p ≥ " +
    `${ALPHA}.${unreachable}`
  );
}

export function compare(baseline: number[], candidate: number[], metric: string, direction: 'max' | 'min'): Comparison {
  const sign = direction === 'max' ? 1 : -1;
  const small = Math.min(baseline.length, candidate.length) < MIN_SEEDS_FOR_WELCH;
  const test = small ? 'permutation_exact' : 'welch_t';
  const pValue = small ? permutationTest(baseline, candidate).pValue : welchTTest(baseline, candidate).pValue;
  const b = summarise(baseline);
  const c = summarise(candidate);
  const meanImprovement = sign * (c.mean - b.mean);
  const verdict: Verdict = meanImprovement <= 0 ? 'not_supported' : pValue < ALPHA ? 'supported' : 'inconclusive';
  return {
    baseline: b,
    candidate: c,
    test,
    pValue,
    effectSize: sign * (variance(baseline) === 0 ? oneSampleD(candidate, b.mean) : cohensD(baseline, candidate)),
    meanImprovement,
    verdict,
    rule: ruleText(metric, direction, test, Math.min(baseline.length, candidate.length)),
  };
}

// Corrections for many comparisons at once (a campaign compares many ideas, each with its own p-value), and the
// smallest seed count at which the exact test can say yes at all. Pure functions, checked against SciPy
// (`permutation_test`) and Holm's worked definition in test/validation/multiple.test.ts.

/** Holm's step-down adjusted p-values (family-wise error), in the order given. */
export function holm(ps: number[]): number[] {
  const order = ps.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const out = new Array<number>(ps.length);
  let running = 0;
  order.forEach(({ p, i }, k) => {
    running = Math.max(running, Math.min(1, (ps.length - k) * p));
    out[i] = running;
  });
  return out;
}

/** n choose k, exactly for the small counts seeds come in. */
export function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * The smallest two-sided p the exact permutation test can give with n seeds per arm: the two most extreme
 * splits of 2n values, out of C(2n, n). With 3 seeds it is 0.1, so nothing could ever be supported at 0.05.
 */
export const smallestPermutationP = (n: number): number => 2 / choose(2 * n, n);

/** The fewest seeds per arm whose exact test can reach p < alpha (4 at alpha = 0.05). */
export function minSeedsFor(alpha: number): number {
  let n = 2;
  while (smallestPermutationP(n) >= alpha) n++;
  return n;
}

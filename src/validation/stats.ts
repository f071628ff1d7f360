// Statistics for the validation stage. Pure functions; test/validation/stats.test.ts checks them against
// values computed with SciPy.

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  std: number;
  /** 95% confidence interval of the mean (Student t, n - 1 degrees of freedom). */
  ci: [number, number];
  values: number[];
}

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function variance(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9).
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** I_x(a, b), the regularised incomplete beta function. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with df degrees of freedom (df may be fractional). */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The t quantile for a two-sided 95% interval, by bisection on the CDF. */
export function tCritical95(df: number): number {
  let lo = 0;
  let hi = 1000;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTwoSidedP(mid, df) > 0.05) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export function summarise(values: number[]): Summary {
  const m = mean(values);
  const std = Math.sqrt(variance(values));
  const half = values.length > 1 ? (tCritical95(values.length - 1) * std) / Math.sqrt(values.length) : 0;
  return { n: values.length, mean: m, std, ci: [m - half, m + half], values };
}

/** Welch's unequal-variance t-test: statistic, Welch–Satterthwaite df, two-sided p. */
export function welchTTest(a: number[], b: number[]): { t: number; df: number; pValue: number } {
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  const diff = mean(b) - mean(a);
  if (va + vb === 0)
    return { t: diff === 0 ? 0 : Math.sign(diff) * Infinity, df: a.length + b.length - 2, pValue: diff === 0 ? 1 : 0 };
  const t = diff / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  return { t, df, pValue: studentTwoSidedP(t, df) };
}

/** Exact two-sided permutation test of the difference in means (every split of the pooled values). */
export function permutationTest(a: number[], b: number[]): { pValue: number; permutations: number } {
  const pooled = [...a, ...b];
  const observed = Math.abs(mean(b) - mean(a));
  const total = pooled.reduce((s, x) => s + x, 0);
  let extreme = 0;
  let count = 0;
  const k = b.length;
  const pick = (start: number, left: number, sum: number): void => {
    if (left === 0) {
      count += 1;
      const diff = Math.abs(sum / k - (total - sum) / a.length);
      if (diff >= observed - 1e-12) extreme += 1;
      return;
    }
    for (let i = start; i <= pooled.length - left; i++) pick(i + 1, left - 1, sum + pooled[i]!);
  };
  pick(0, k, 0);
  return { pValue: extreme / count, permutations: count };
}

/** Cohen's d with the pooled standard deviation (candidate minus baseline). */
export function cohensD(a: number[], b: number[]): number {
  const pooled = Math.sqrt(((a.length - 1) * variance(a) + (b.length - 1) * variance(b)) / (a.length + b.length - 2));
  const diff = mean(b) - mean(a);
  if (pooled === 0) return diff === 0 ? 0 : Math.sign(diff) * Infinity;
  return diff / pooled;
}

/** One-sample t-test of the mean against a fixed value (upstream's hard-coded baselines): two-sided p. */
export function oneSampleTTest(xs: number[], mu: number): { t: number; df: number; pValue: number } {
  const se = Math.sqrt(variance(xs) / xs.length);
  const diff = mean(xs) - mu;
  const df = xs.length - 1;
  if (se === 0) return { t: diff === 0 ? 0 : Math.sign(diff) * Infinity, df, pValue: diff === 0 ? 1 : 0 };
  const t = diff / se;
  return { t, df, pValue: studentTwoSidedP(t, df) };
}

/**
 * Cohen's d against a fixed value: the difference over the measured arm's own SD. Pooling with a baseline
 * that has no spread would shrink the SD by up to √2 and inflate d.
 */
export function oneSampleD(xs: number[], mu: number): number {
  const sd = Math.sqrt(variance(xs));
  const diff = mean(xs) - mu;
  if (sd === 0) return diff === 0 ? 0 : Math.sign(diff) * Infinity;
  return diff / sd;
}

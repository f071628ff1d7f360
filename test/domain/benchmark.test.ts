// Benchmark scoring as upstream scores agents: > 10% relative improvement in the task's direction.
import {
  benchmarkResults,
  relativeImprovement,
  stratifiedMean,
  succeeded,
  wilson,
  type BenchmarkRunFacts,
} from '../../src/domain/benchmark';

const run = (over: Partial<BenchmarkRunFacts>): BenchmarkRunFacts => ({
  runId: 'r',
  taskId: 't',
  status: 'succeeded',
  direction: 'max',
  baseline: 0.5,
  value: 0.6,
  verdict: 'supported',
  errorType: null,
  costUsd: 0.01,
  wallSeconds: 10,
  ...over,
});

describe('benchmark scoring', () => {
  it.each([
    // [baseline, value, direction, relative improvement, success]
    [0.5, 0.6, 'max', 0.2, true],
    [0.5, 0.54, 'max', 0.08, false], // 8% is not over the 10% bar
    [0.5, 0.4, 'max', -0.2, false],
    [10, 8, 'min', 0.2, true], // lower is better: an error that falls 20% is a success
    [10, 12, 'min', -0.2, false],
    [-2, -1, 'max', 0.5, true], // a negative baseline (log-likelihood) keeps the sign right
  ] as const)('baseline %p → %p (%s): %p, success %p', (b, v, d, rel, ok) => {
    expect(relativeImprovement(b, v, d)).toBeCloseTo(rel, 12);
    expect(succeeded(run({ baseline: b, value: v, direction: d }))).toBe(ok);
  });

  it('has no relative improvement over a zero baseline, and no success without a measured candidate', () => {
    expect(relativeImprovement(0, 1, 'max')).toBeNull();
    expect(succeeded(run({ value: null }))).toBe(false);
    expect(succeeded(run({ status: 'implementing' }))).toBe(false); // not ended: not scored yet
  });

  it('gives Wilson 95% intervals that match the textbook values', () => {
    // 8 of 10: 0.4902 to 0.9433; 0 of 5: 0 to 0.4345; none: no rate.
    const a = wilson(8, 10);
    expect(a.rate).toBe(0.8);
    expect(a.interval![0]).toBeCloseTo(0.4902, 4);
    expect(a.interval![1]).toBeCloseTo(0.9433, 4);
    const b = wilson(0, 5);
    expect(b.interval![0]).toBe(0);
    expect(b.interval![1]).toBeCloseTo(0.4345, 4);
    expect(wilson(0, 0)).toEqual({ rate: null, interval: null });
  });

  it('summarises per task and overall, leaving cancelled runs out and counting failed ones as failures', () => {
    const { tasks, overall } = benchmarkResults(
      ['a', 'b'],
      [
        run({ taskId: 'a', runId: '1' }),
        run({ taskId: 'a', runId: '2', value: 0.5, verdict: 'inconclusive' }),
        run({ taskId: 'a', runId: '3', status: 'cancelled', value: null }),
        run({ taskId: 'b', runId: '4', status: 'failed', value: null, baseline: null, verdict: null }),
        run({ taskId: 'b', runId: '5', direction: 'min', baseline: 10, value: 5 }),
      ],
    );
    expect(tasks[0]).toMatchObject({ task: 'a', runs: 2, successes: 1, successRate: 0.5, costUsd: 0.03 });
    expect(tasks[0]!.meanImprovement).toBeCloseTo(0.1, 12);
    expect(tasks[0]!.medianImprovement).toBeCloseTo(0.1, 12); // the middle of an even count: 0.2 and 0
    expect(tasks[0]!.verdicts).toEqual({ supported: 1, inconclusive: 1 });
    expect(tasks[1]).toMatchObject({
      task: 'b',
      runs: 2,
      successes: 1,
      meanImprovement: 0.5,
      verdicts: { none: 1, supported: 1 },
    });
    expect(overall).toMatchObject({ runs: 4, successes: 2, successRate: 0.5, meanTaskSuccessRate: 0.5 });
    expect(overall.successInterval![0]).toBeLessThan(0.5);
    // The cancelled run is a person's stop: out of upstream's rate, in the rate over every ended run.
    expect(tasks[0]!.ends).toMatchObject({ completed: 2, human: 1 });
    expect(tasks[0]!.allRuns).toMatchObject({ runs: 3, successRate: 1 / 3 });
  });

  it("keeps an outage and a budget stop out of upstream's denominator, and shows both rates", () => {
    const { tasks } = benchmarkResults(
      ['t'],
      [
        run({ runId: '1' }),
        run({ runId: '2', status: 'failed', value: null, errorType: 'LlmUnavailable' }),
        run({ runId: '3', status: 'failed', value: null, errorType: 'BaselineFailed' }),
        run({ runId: '4', status: 'cancelled', value: null, errorType: 'BudgetExhausted' }),
        run({ runId: '5', status: 'failed', value: null, errorType: 'ExperimentFailed' }),
        run({ runId: '6', status: 'implementing', value: null }),
      ],
    );
    expect(tasks[0]).toMatchObject({
      runs: 2,
      successes: 1,
      successRate: 0.5,
      allRuns: { runs: 5, successRate: 0.2 },
      ends: { completed: 1, agent: 1, infrastructure: 2, budget: 1, human: 0, running: 1 },
    });
  });

  it('never turns a measured success into a failure because validation fell short of seeds', () => {
    const shortfall = run({ status: 'failed', errorType: 'ValidationShortfall', verdict: null });
    expect(succeeded(shortfall)).toBe(true);
    expect(benchmarkResults(['t'], [shortfall]).tasks[0]).toMatchObject({ runs: 1, successes: 1 });
    // Without a measured candidate the same failure is the agent's.
    expect(succeeded({ ...shortfall, value: null })).toBe(false);
  });

  it('flags near-zero baselines and leaves them out of the mean and median improvement', () => {
    const { tasks } = benchmarkResults(
      ['t'],
      [
        run({ runId: '1', baseline: 1e-10, value: 0.5 }),
        run({ runId: '2', baseline: 0.5, value: 0.6 }),
        run({ runId: '3', baseline: 0.5, value: 0.7 }),
        run({ runId: '4', baseline: 0.5, value: 0.45 }),
      ],
    );
    const t = tasks[0]!;
    expect(t.nearZeroBaselines).toBe(1);
    expect(t.medianImprovement).toBeCloseTo(0.2, 12);
    expect(t.meanImprovement).toBeCloseTo((0.2 + 0.4 - 0.1) / 3, 12);
    // Upstream's rule still counts it a success, as plot.py would: the flag is beside the rate.
    expect(t.successes).toBe(3);
  });

  it('gives the overall row as the mean of per-task rates with a stratified interval', () => {
    // Task a: 4 of 4; task b: 0 of 4. Pooled, one binomial would say 50% of 8; per task it is (1 + 0) / 2,
    // and each task's Agresti–Coull variance (p̃ = (s + 1.92) / (n + 3.84)) adds to the interval.
    const z2 = 1.96 ** 2;
    const pa = (4 + z2 / 2) / (4 + z2);
    const pb = (0 + z2 / 2) / (4 + z2);
    const half = 1.96 * Math.sqrt(((pa * (1 - pa)) / (4 + z2) + (pb * (1 - pb)) / (4 + z2)) / 4);
    const s = stratifiedMean([
      { successes: 4, runs: 4 },
      { successes: 0, runs: 4 },
      { successes: 0, runs: 0 },
    ]);
    expect(s.rate).toBe(0.5);
    expect(s.interval![0]).toBeCloseTo(0.5 - half, 12);
    expect(s.interval![1]).toBeCloseTo(0.5 + half, 12);
    expect(stratifiedMean([])).toEqual({ rate: null, interval: null });
  });
});

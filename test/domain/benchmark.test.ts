// Benchmark scoring as upstream scores agents: > 10% relative improvement in the task's direction.
import {
  benchmarkResults,
  relativeImprovement,
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
    expect(succeeded(run({ status: 'failed' }))).toBe(false);
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
  });
});

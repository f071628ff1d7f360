// A run's result: the candidate against the mean of its baseline executions, saying how the baseline was had.
import { computeResult } from '../../src/activities/experiment';
import type { ExperimentRow } from '../../src/db/experiments';

const row = (id: string, accuracy: number) => ({ id, metrics: { accuracy } }) as unknown as ExperimentRow;

it('measures the candidate against the mean of the baseline executions', () => {
  const r = computeResult('accuracy', 'max', [row('b0', 0.8), row('b1', 0.9), row('b2', 0.85)], row('c', 0.94));
  expect(r.baseline).toBeCloseTo(0.85, 12);
  expect(r.improvement).toBeCloseTo(0.09, 12);
  expect(r.relativeImprovement).toBeCloseTo(0.09 / 0.85, 12);
  expect(r.baselineExperimentId).toBe('b0');
  expect(r.baselineOf).toEqual({ kind: 'measured', executions: 3, experimentIds: ['b0', 'b1', 'b2'] });
});

it("says when the baseline is the task's declared number, and turns the sign for a lower-is-better metric", () => {
  const r = computeResult('accuracy', 'min', [row('fixed', 0.5)], row('c', 0.4), true);
  expect(r.baseline).toBe(0.5);
  expect(r.improvement).toBeCloseTo(0.1, 12);
  expect(r.baselineOf).toEqual({ kind: 'fixed' });
});

// The worked example of bench/score-compare.ts: one recorded set scored by this service's rule and by upstream's
// plot.py logic re-implemented from its description. They must agree on every task's runs and rate.
import path from 'node:path';
import fs from 'node:fs';
import { compareScoring, type RecordedSet } from '../../bench/score-compare';
import { ROOT } from '../support/paths';

const set = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'bench', 'fixtures', 'scoring-example.json'), 'utf8'),
) as RecordedSet;

it("agrees with upstream's plot.py on every task's denominator and success rate", () => {
  const rows = compareScoring(set);
  expect(rows.map((r) => [r.task, r.upstream.runs, r.upstream.rate])).toEqual([
    ['cifar10', 6, 3 / 6],
    ['imdb', 6, 3 / 6],
    ['house-price', 7, 4 / 7],
    ['parkinsons-disease', 7, 2 / 7],
    ['fathomnet', 7, 3 / 7],
  ]);
  expect(rows.filter((r) => !r.agree)).toEqual([]);
  // What this service adds beside it: the rate over every ended run, and upstream's 1e-10 fathomnet baseline
  // flagged instead of exploding the mean improvement.
  expect(rows[0]!.ours.allRuns).toMatchObject({ runs: 8, successRate: 3 / 8 });
  expect(rows[4]!.ours).toMatchObject({ nearZeroBaselines: 3, meanImprovement: null });
});

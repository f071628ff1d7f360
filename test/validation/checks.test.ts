import { runChecks, scanForbiddenReads, type CheckInput } from '../../src/validation/checks';
import { summarise } from '../../src/validation/stats';
import { numbersIn, unmeasuredNumbers } from '../../src/validation/provenance';

const base: CheckInput = {
  candidateFiles: { 'train.py': 'import pandas as pd\npd.read_csv("data/train.csv")\n' },
  starterHash: 'a',
  candidateHash: 'b',
  metric: 'accuracy',
  direction: 'max',
  baseline: summarise([0.7, 0.72, 0.71]),
  candidate: summarise([0.8, 0.82, 0.81]),
  stochastic: true,
  failedSeeds: 0,
};

describe('sanity and leakage checks', () => {
  it('raises no flag for an ordinary candidate', () => {
    expect(runChecks(base)).toEqual([]);
  });

  it.each([
    ['pd.read_csv("../scripts/answer.csv")', /answer\.csv|outside the workspace|scripts folder/],
    ['open("/etc/hosts")', /an absolute path/],
    ['from eval import get_score', /the evaluation script/],
  ])('flags a candidate that reads what it should not: %s', (line, what) => {
    const flags = scanForbiddenReads({ 'train.py': `import os\n${line}\n` });
    expect(flags.length).toBeGreaterThan(0);
    expect(flags.map((f) => f.kind)).toContain('forbidden_reads');
    expect(flags.map((f) => f.message).join('\n')).toMatch(what);
    expect(flags[0]!.message).toContain('`train.py:2`');
  });

  it('flags an implausibly perfect metric, direction-aware', () => {
    expect(runChecks({ ...base, candidate: summarise([1, 1, 0.9995]) }).map((f) => f.kind)).toContain(
      'implausible_metric',
    );
    expect(
      runChecks({ ...base, direction: 'min', metric: 'rmse', candidate: summarise([0, 0, 0]) }).map((f) => f.kind),
    ).toContain('implausible_metric');
    expect(
      runChecks({ ...base, direction: 'min', metric: 'rmse', candidate: summarise([40, 41, 42]) }).map((f) => f.kind),
    ).not.toContain('implausible_metric');
  });

  it('flags zero seed variance only where the task is stochastic', () => {
    const flat = { ...base, candidate: summarise([0.8, 0.8, 0.8]) };
    expect(
      runChecks(flat)
        .map((f) => f.message)
        .join(),
    ).toMatch(/candidate's accuracy is identical across 3 seeds/);
    expect(runChecks({ ...flat, stochastic: false })).toEqual([]);
  });

  it('flags a candidate whose code is identical to the baseline', () => {
    expect(runChecks({ ...base, candidateHash: 'a' }).map((f) => f.kind)).toEqual(['identical_code']);
  });

  it('flags a changed candidate that measures exactly the baseline on every seed as a no-op change', () => {
    const same = [1, 2, 3].map((seed) => ({ seed, baseline: 0.7 + seed / 100, candidate: 0.7 + seed / 100 }));
    const flags = runChecks({ ...base, perSeed: same });
    expect(flags.map((f) => f.kind)).toEqual(['no_op_change']);
    expect(flags[0]!.message).toContain('equals the baseline');
    // One seed that differs is an effect (perhaps a tiny one), not a no-op; one seed alone proves nothing.
    const oneDiffers = same.map((p, i) => (i === 2 ? { ...p, candidate: p.candidate + 0.01 } : p));
    expect(runChecks({ ...base, perSeed: oneDiffers })).toEqual([]);
    expect(runChecks({ ...base, perSeed: same.slice(0, 1) })).toEqual([]);
    // The same code is already flagged as identical; not twice.
    expect(runChecks({ ...base, candidateHash: 'a', perSeed: same }).map((f) => f.kind)).toEqual(['identical_code']);
  });
});

describe('number provenance', () => {
  const record = { baseline: { mean: 0.71234 }, values: [0.7, 0.8], tokens: 1500 };
  it('skips numbers in code spans, fenced blocks and links', () => {
    expect(numbersIn('mean 0.7123 `abc123` ```\n42\n``` [x](/v1/runs/9) and 1500 tokens')).toEqual(['0.7123', '1500']);
  });

  it('accepts numbers that are on record, formatted to 4 significant digits', () => {
    expect(unmeasuredNumbers('The mean was 0.7123 over 1500 tokens; 95% CI at α = 0.05.', [record])).toEqual([]);
  });

  it('catches a planted invented number', () => {
    expect(unmeasuredNumbers('The mean was 0.7123, an improvement of 12.34 points.', [record])).toEqual(['12.34']);
  });
});

import { rankFromReview, repairAnalysis, trimIdeas } from '../../src/domain/repair';

const r = (index: number, score: number) => ({ index, score, critique: `c${index}` });

describe('rankFromReview', () => {
  it.each([
    ['a consistent review', [r(2, 9), r(0, 7), r(1, 5)], [2, 0, 1], 0],
    ['scores in another order than the list', [r(0, 3), r(1, 9)], [1, 0], 1],
    ['a repeated index (the first review counts)', [r(0, 6), r(0, 9), r(1, 5)], [0, 1], 1],
    ['an index out of range', [r(7, 10), r(1, 5), r(0, 4)], [1, 0], 1],
    ['a negative or fractional index', [r(-1, 10), r(0.5, 10), r(0, 4), r(1, 3)], [0, 1], 2],
    ['a missing idea', [r(1, 5)], [1, 0], 1],
    ['tied scores (the reviewer order breaks them)', [r(1, 5), r(0, 5)], [1, 0], 0],
  ])('ranks %s', (_name, rankings, order, repairs) => {
    const out = rankFromReview(rankings, 2 + (order.length > 2 ? 1 : 0));
    expect(out.ranked.map((x) => x.index)).toEqual(order);
    expect(out.ranked.map((x) => x.rank)).toEqual(order.map((_, i) => i + 1));
    expect(out.repairs).toHaveLength(repairs);
  });

  it('never invents a score for an idea the reviewer skipped', () => {
    const { ranked, repairs } = rankFromReview([], 2);
    expect(ranked).toEqual([
      { index: 0, rank: 1, score: null, critique: expect.stringMatching(/Not reviewed/) },
      { index: 1, rank: 2, score: null, critique: expect.stringMatching(/Not reviewed/) },
    ]);
    expect(repairs).toEqual([
      'index 0 was not reviewed; ranked after the reviewed ideas',
      'index 1 was not reviewed; ranked after the reviewed ideas',
    ]);
  });
});

describe('trimIdeas', () => {
  it('keeps the first ideas when there are too many, and leaves fewer alone', () => {
    expect(trimIdeas([1, 2, 3], 2)).toEqual({ ideas: [1, 2], repairs: ['kept the first 2 of 3 ideas'] });
    expect(trimIdeas([1], 2)).toEqual({ ideas: [1], repairs: [] });
  });
});

describe('repairAnalysis', () => {
  it('trims and de-duplicates keywords and drops repeated gaps, saying what it did', () => {
    const gap = { gap: 'No scaling study', evidence: 'Section 4' };
    const out = repairAnalysis({
      keywords: [' scaling ', 'Scaling', '  ', 'tabular'],
      gaps: [gap, { ...gap, gap: 'no scaling study ' }],
    });
    expect(out.value.keywords).toEqual(['scaling', 'tabular']);
    expect(out.value.gaps).toEqual([gap]);
    expect(out.repairs).toEqual(['keywords cleaned: 4 given, 2 kept', 'dropped 1 repeated gap(s)']);
  });

  it('leaves a clean analysis alone', () => {
    const a = { keywords: ['a', 'b'], gaps: [{ gap: 'g', evidence: 'e' }] };
    expect(repairAnalysis(a)).toEqual({ value: a, repairs: [] });
  });
});

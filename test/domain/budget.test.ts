import { addBudget, describeExhaustion, overrun, ZERO_SPEND } from '../../src/domain/budget';

const spend = (over: Partial<typeof ZERO_SPEND>) => ({ ...ZERO_SPEND, ...over });

describe('a budget', () => {
  it.each([
    [
      'fits under every limit',
      { usd: 10, tokens: 100 },
      spend({ usd: 5, tokens: 50 }),
      spend({ usd: 5, tokens: 50 }),
      undefined,
    ],
    [
      'refuses the first limit a request would overrun',
      { usd: 10, tokens: 100 },
      spend({ tokens: 90 }),
      spend({ tokens: 11 }),
      'tokens',
    ],
    [
      'ignores a limit the request does not use',
      { gpuHours: 1 },
      spend({ gpuHours: 5 }),
      spend({ tokens: 10 }),
      undefined,
    ],
    ['treats a missing limit as unlimited', {}, spend({ usd: 1e9 }), spend({ usd: 1 }), undefined],
    ['refuses once spent even for a small request', { usd: 1 }, spend({ usd: 1 }), spend({ usd: 0.01 }), 'usd'],
    [
      'refuses CPU-hours past their limit',
      { cpuHours: 2 },
      spend({ cpuHours: 1.5 }),
      spend({ cpuHours: 0.6 }),
      'cpuHours',
    ],
  ] as const)('%s', (_name, budget, committed, requested, limit) => {
    expect(overrun(budget, committed, requested)?.limit).toBe(limit);
  });

  it('adds a top-up to the limits it has, and an unlimited one stays unlimited', () => {
    expect(addBudget({ usd: 1, tokens: 10 }, { usd: 2, gpuHours: 3 })).toEqual({ usd: 3, tokens: 10 });
  });

  it('adds a CPU-hours top-up like the others', () => {
    expect(addBudget({ cpuHours: 1 }, { cpuHours: 2 })).toEqual({ cpuHours: 3 });
    expect(describeExhaustion({ scope: 'user', limit: 'cpuHours', budget: 2, committed: 2, requested: 1 })).toBe(
      "the user's CPU-hours budget is spent: 2 of 2 committed, 1 more needed",
    );
  });

  it('says which budget is spent and by how much', () => {
    expect(describeExhaustion({ scope: 'campaign', limit: 'usd', budget: 2, committed: 1.5, requested: 0.75 })).toBe(
      "the campaign's USD budget is spent: 1.5000 of 2 committed, 0.7500 more needed",
    );
  });
});

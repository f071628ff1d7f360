// Budgets and spend as every layer sees them: the ledger (db/ledger.ts) sums into Spend, runs and campaigns
// store a Budget, and a reservation that would overrun one is refused with a BudgetExhaustion.

/** Limits on what may be spent; a missing field is unlimited. */
export interface Budget {
  usd?: number;
  tokens?: number;
  gpuHours?: number;
  cpuHours?: number;
}

/** The limits a budget may set, in the order they are checked. */
export const BUDGET_LIMITS = ['usd', 'tokens', 'gpuHours', 'cpuHours'] as const;
export type BudgetLimit = (typeof BUDGET_LIMITS)[number];

export interface Spend {
  usd: number;
  tokens: number;
  gpuHours: number;
  cpuHours: number;
}

export const ZERO_SPEND: Spend = { usd: 0, tokens: 0, gpuHours: 0, cpuHours: 0 };

/** Which budget ran out: the run's own or its campaign's. */
export type BudgetScope = 'run' | 'campaign' | 'user';

export interface BudgetExhaustion {
  scope: BudgetScope;
  /** The limit that the reservation would overrun. */
  limit: BudgetLimit;
  budget: number;
  committed: number;
  requested: number;
}

/** The first limit that `committed + requested` overruns, or undefined when all fit. */
export function overrun(
  budget: Budget,
  committed: Spend,
  requested: Spend,
): Omit<BudgetExhaustion, 'scope'> | undefined {
  for (const limit of BUDGET_LIMITS) {
    const cap = budget[limit];
    if (cap === undefined || requested[limit] === 0) continue;
    if (committed[limit] + requested[limit] > cap + 1e-12) {
      return { limit, budget: cap, committed: committed[limit], requested: requested[limit] };
    }
  }
  return undefined;
}

/** A top-up added to a budget; an unlimited field stays unlimited. */
export function addBudget(budget: Budget, topUp: Budget): Budget {
  const out: Budget = { ...budget };
  for (const k of BUDGET_LIMITS) {
    if (topUp[k] !== undefined && out[k] !== undefined) out[k] = out[k] + topUp[k];
  }
  return out;
}

export function describeExhaustion(e: BudgetExhaustion): string {
  const unit = { usd: 'USD', tokens: 'tokens', gpuHours: 'GPU-hours', cpuHours: 'CPU-hours' }[e.limit];
  return (
    `the ${e.scope}'s ${unit} budget is spent: ${round(e.committed)} of ${round(e.budget)} committed, ` +
    `${round(e.requested)} more needed`
  );
}

const round = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(4));

import { ActivityFailure, ApplicationFailure, patched, sleep } from '@temporalio/workflow';
import type { BudgetExhaustion } from '../domain/budget';
import { ErrorType } from '../errors';

/** How long a run waits before asking again for one of its campaign's execution slots (a durable timer). */
export const SLOT_RETRY_MS = 15_000;

/**
 * How long a run waits for its owner's quota window to move (until its oldest spend leaves it), on a durable
 * timer: at least a slot's wait, at most a day, whatever the details say.
 */
export function quotaWaitMs(failure: ApplicationFailure): number {
  const retryAt = Date.parse(String((failure.details?.[0] as { retryAt?: unknown } | undefined)?.retryAt));
  const wait = Number.isFinite(retryAt) ? retryAt - Date.now() : SLOT_RETRY_MS;
  return Math.min(Math.max(wait, SLOT_RETRY_MS), 24 * 3_600_000);
}

/** The metering failure inside an activity failure, if that is what it is. */
function meteringFailure(err: unknown): ApplicationFailure | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const type = err.cause.type;
  return type === ErrorType.BudgetExhausted ||
    type === ErrorType.ExecutionSlotBusy ||
    type === ErrorType.UserQuotaExhausted
    ? err.cause
    : undefined;
}

/**
 * Activities whose reservations may be refused, made to wait instead of fail: at the step boundary where a
 * budget ran out the run parks (`park`, until a top-up), and a busy execution slot is waited for on a durable
 * timer; then the same activity is asked again (activities are idempotent per step). Nothing was spent or
 * written by the refused attempt.
 */
export function budgetGuard<T extends object>(acts: T, park: (e: BudgetExhaustion) => Promise<void>): T {
  return new Proxy(acts, {
    get(target, prop, receiver) {
      const fn = Reflect.get(target, prop, receiver) as unknown;
      if (typeof fn !== 'function') return fn;
      return async (...args: unknown[]) => {
        for (;;) {
          try {
            return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          } catch (err) {
            const failure = meteringFailure(err);
            // Runs recorded before budgets parked failed here, and must replay that way.
            if (!failure || !patched('budget-wait')) throw err;
            if (failure.type === ErrorType.ExecutionSlotBusy) await sleep(SLOT_RETRY_MS);
            else if (failure.type === ErrorType.UserQuotaExhausted) await sleep(quotaWaitMs(failure));
            else await park(failure.details?.[0] as BudgetExhaustion);
          }
        }
      };
    },
  });
}

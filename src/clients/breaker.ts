// A circuit breaker for an external dependency: after `failures` failures in a row it opens, and every
// call is refused at once for `cooldownMs` (no request, no wait in a rate limiter's queue); then one trial
// call is let through, and its outcome closes the circuit or opens it again. A service that is down then
// costs each caller nothing instead of a place in a queue of retries.

export interface CircuitBreaker {
  /** undefined when a call may go ahead; otherwise why not, and until when. */
  refusal(): { reason: string; retryAt: number } | undefined;
  /** Open right now (a check that, unlike refusal(), never takes the half-open trial). */
  isOpen(): boolean;
  success(): void;
  failure(why: string): void;
  /** The call was given up by its caller (cancelled): neither outcome, and the trial is free again. */
  abandon(): void;
}

export function createCircuitBreaker(opts: {
  name: string;
  failures: number;
  cooldownMs: number;
  now?: () => number;
}): CircuitBreaker {
  const now = opts.now ?? Date.now;
  let consecutive = 0;
  let openUntil = 0;
  let trialInFlight = false;
  let lastError = '';
  return {
    refusal() {
      if (consecutive < opts.failures) return undefined;
      const t = now();
      if (t < openUntil || trialInFlight) {
        const retryAt = Math.max(openUntil, t);
        return {
          reason:
            `${opts.name} failed ${consecutive} times in a row (last: ${lastError}); not asked again until ` +
            `${new Date(retryAt).toISOString()}`,
          retryAt,
        };
      }
      trialInFlight = true; // half-open: this caller is the one trial
      return undefined;
    },
    isOpen() {
      return consecutive >= opts.failures && now() < openUntil;
    },
    abandon() {
      trialInFlight = false;
    },
    success() {
      consecutive = 0;
      trialInFlight = false;
    },
    failure(why) {
      consecutive += 1;
      lastError = why;
      trialInFlight = false;
      if (consecutive >= opts.failures) openUntil = now() + opts.cooldownMs;
    },
  };
}

import { Context } from '@temporalio/activity';

/**
 * Runs fn while heartbeating every few seconds, so a worker that dies mid-call is noticed within the
 * heartbeat timeout rather than the much longer start-to-close timeout. Outside an activity (plain unit
 * tests) it just runs fn.
 */
export async function withHeartbeat<T>(fn: (signal?: AbortSignal) => Promise<T>, everyMs = 2000): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return fn();
  }
  ctx.heartbeat();
  const timer = setInterval(() => ctx!.heartbeat(), everyMs);
  try {
    return await fn(ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

/**
 * What a remote execution should do when the activity's signal aborts: a cancelled run (or one whose
 * workflow is gone) stops it; a worker shutting down, a timed-out, paused or reset activity leaves it
 * running, and the next attempt re-attaches.
 */
export function abortModeOfActivity(): 'cancel' | 'detach' {
  let details;
  try {
    details = Context.current().cancellationDetails;
  } catch {
    return 'cancel';
  }
  if (!details || details.cancelRequested || details.notFound) return 'cancel';
  return 'detach';
}

/**
 * Whether this attempt was cancelled because its workflow asked (a cancelled run): only then is an execution's
 * end recorded as `cancelled`. Otherwise the attempt lost its activity (it timed out, e.g. a heartbeat late under
 * load, or its worker is going away) and another attempt is, or will be, the live one. Outside an activity (plain
 * unit tests) a cancel is the caller's.
 */
export function cancelledByWorkflow(): boolean {
  try {
    return Context.current().cancellationDetails?.cancelRequested ?? true;
  } catch {
    return true;
  }
}

/** Heartbeats with details (a Job's name and phase) from inside an activity; nothing outside one. */
export function heartbeatWith(details?: Record<string, unknown>): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not in an activity (unit tests)
  }
}

/** This activity's attempt (1 for the first); outside an activity (unit tests), a first attempt past any retry. */
export function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

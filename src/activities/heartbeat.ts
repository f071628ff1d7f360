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

// How long an execution and the agent may take. Upstream MLAgentBench has no per-execution limit, only the run's
// --max-time (5 hours) over everything the agent does; this service also bounds each execution, by what its task
// says (task.json `timeoutSeconds`), else MLR_EXEC_TIMEOUT_MS, except the mlab agent's own executions, which keep
// upstream's none: only the agent's time left bounds them.
import { MLAB_LIMITS, type AgentProfile, type RunInput } from './run-input';

/** The longest per-execution limit a task may set (and so the longest an execution activity may need). */
export const MAX_TASK_TIMEOUT_SECONDS = 24 * 60 * 60;

/** The agent's working-time limit in ms, or Infinity when it has none. */
export function agentTimeLimitMs(input: Pick<RunInput, 'experiment' | 'benchmark'>): number {
  const seconds = input.experiment.agentSeconds ?? (input.benchmark?.profile === 'mlab' ? MLAB_LIMITS.maxSeconds : 0);
  return seconds > 0 ? seconds * 1000 : Infinity;
}

/**
 * The limit of one execution: the task's own, else MLR_EXEC_TIMEOUT_MS; an execution of the agent's under a
 * working-time limit never outlasts what is left of it, and with mlab that is its only limit, as upstream's.
 * The harness's measured executions (baseline, candidate, validation) have no agent time: the task's or the config's.
 */
export function executionTimeoutMs(o: {
  taskSeconds?: number;
  profile?: AgentProfile;
  configMs: number;
  /** For the agent's own executions under a working-time limit: what is left of it. */
  agentTimeLeftMs?: number;
}): number {
  // At least a second: an execution scheduled with nothing left still starts, and ends as timed out.
  const left = o.agentTimeLeftMs === undefined ? Infinity : Math.max(1000, Math.floor(o.agentTimeLeftMs));
  if (o.taskSeconds !== undefined) return Math.min(o.taskSeconds * 1000, left);
  if (o.profile === 'mlab' && Number.isFinite(left)) return left;
  return Math.min(o.configMs, left);
}

// How a run ended, in the classes MLAgentBench's accounting needs (snap-stanford/MLAgentBench, plot.py leaves
// infrastructure failures out of most agents' denominators). Only the agent's own failures count against it;
// an outage, a budget stop or a person's decision says nothing about the agent, and a validation shortfall is a
// verdict about the seeds, not about whether the agent's measured result beat the baseline.
export type RunEnd =
  /** Finished with a measured candidate (validated or not). */
  | 'completed'
  /** The agent could not produce a working candidate (debug iterations or steps spent, invalid output, a
   *  sandbox violation), or the failure is unexplained. Counted against it. */
  | 'agent'
  /** The model endpoint, the sandbox, the task's own baseline, or the service failed. */
  | 'infrastructure'
  /** Parked for money and stopped there. */
  | 'budget'
  /** A person rejected, cancelled, or let the approval time out. */
  | 'human'
  /** Still going. */
  | 'running';

const INFRASTRUCTURE = new Set([
  'LlmUnavailable',
  'LlmRejected',
  'ModelNotConfigured',
  'NotFound',
  'TaskRefused',
  'SandboxUnavailable',
  'BaselineFailed',
  // Temporal's own failure kinds: an activity that kept timing out or whose worker kept dying.
  'TimeoutFailure',
  'ServerFailure',
  'TerminatedFailure',
]);
const BUDGET = new Set(['BudgetExhausted', 'UserQuotaExhausted']);
const ENDED = new Set(['succeeded', 'failed', 'rejected', 'cancelled']);

export function runEnd(status: string, errorType: string | null, measured: boolean): RunEnd {
  if (!ENDED.has(status)) return 'running';
  // A measured candidate is the agent's outcome whatever happened after (validation, a stop): upstream scores
  // the final submission as the run left it.
  if (status === 'succeeded' || measured) return 'completed';
  if (status === 'rejected') return 'human';
  if (status === 'cancelled') return errorType && BUDGET.has(errorType) ? 'budget' : 'human';
  if (errorType === 'ApprovalTimedOut') return 'human';
  if (errorType && BUDGET.has(errorType)) return 'budget';
  if (errorType && INFRASTRUCTURE.has(errorType)) return 'infrastructure';
  // The agent's failures (ExperimentFailed, LlmInvalidOutput, SandboxViolation) and anything unexplained (rows
  // from before types were kept): counted against the agent, so that no unknown inflates its rate.
  return 'agent';
}

/** The ends upstream's success rate divides by: the runs whose outcome is the agent's. */
export const countsForUpstream = (end: RunEnd): boolean => end === 'completed' || end === 'agent';

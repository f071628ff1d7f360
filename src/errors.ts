/**
 * The one catalog of failure types that cross the workflow/activity boundary (as ApplicationFailure.type)
 * and that the API maps to HTTP statuses. Retry policies match on these strings, never on messages.
 */
export const ErrorType = {
  /** A model endpoint answered 4xx (not 429): bad key, unknown model, bad request. Never retried. */
  LlmRejected: 'LlmRejected',
  /** 429 or 5xx or a network failure from the model endpoint: retried by Temporal with backoff. */
  LlmUnavailable: 'LlmUnavailable',
  /** The model kept answering with output that fails its schema after the bounded re-asks. */
  LlmInvalidOutput: 'LlmInvalidOutput',
  /** No model configured for a role. */
  ModelNotConfigured: 'ModelNotConfigured',
  /** Semantic Scholar's rate-limit queue is long: retried after the delay it names, no worker slot held. */
  ScholarBusy: 'ScholarBusy',
  /** A run or paper the activity needs does not exist. */
  NotFound: 'NotFound',
  /** The task cannot be scored or prepared as it stands (no metric, prepare.py failed or asked for input). */
  TaskRefused: 'TaskRefused',
  /** Approval arrived while the run was not waiting for one. */
  NotAwaitingApproval: 'NotAwaitingApproval',
  /** Approval named an idea that is not among the current ideas. */
  IdeaNotFound: 'IdeaNotFound',
  /** A revision was asked for after MLR_MAX_REVISIONS rounds. */
  RevisionLimit: 'RevisionLimit',
  /** The decision was malformed (e.g. revise without feedback). */
  InvalidDecision: 'InvalidDecision',
  /**
   * A reservation would overrun the run's or its campaign's budget: nothing was spent, and the workflow parks
   * the run in awaiting_budget until a top-up (details: the BudgetExhaustion).
   */
  BudgetExhausted: 'BudgetExhausted',
  /** The campaign already runs maxConcurrentJobs executions: the workflow waits a durable timer and asks again. */
  ExecutionSlotBusy: 'ExecutionSlotBusy',
  /**
   * The user's spend in the quota period (MLR_USER_QUOTA_*) leaves no room: the workflow waits a durable timer
   * until the window has moved past enough of it (details: the exhaustion and retryAt), and asks again.
   */
  UserQuotaExhausted: 'UserQuotaExhausted',
  /** The candidate wrote files it must not (read-only data): the run stops at once. */
  SandboxViolation: 'SandboxViolation',
  /** Experiment code must run sandboxed and this host cannot provide the sandbox (MLR_SANDBOX). */
  SandboxUnavailable: 'SandboxUnavailable',
  /** The experiment could not be measured: baseline failure, debug iterations or steps spent. */
  ExperimentFailed: 'ExperimentFailed',
  /** The unmodified starter code did not run: the task or the environment is broken, not the agent. */
  BaselineFailed: 'BaselineFailed',
  /**
   * The candidate was measured, but validation got fewer than 2 good seeds per arm: a verdict of its own, which
   * never turns the measured result into an agent's failure in benchmark accounting.
   */
  ValidationShortfall: 'ValidationShortfall',
  /** Nobody decided within the run's approvalTimeout and the request said to fail. */
  ApprovalTimedOut: 'ApprovalTimedOut',
} as const;

export type ErrorTypeName = (typeof ErrorType)[keyof typeof ErrorType];

/** Failure types a retry can never fix. */
export const nonRetryableErrorTypes: ErrorTypeName[] = [
  ErrorType.LlmRejected,
  ErrorType.LlmInvalidOutput,
  ErrorType.ModelNotConfigured,
  ErrorType.NotFound,
  ErrorType.BudgetExhausted,
  ErrorType.ExecutionSlotBusy,
  ErrorType.UserQuotaExhausted,
  ErrorType.SandboxViolation,
  ErrorType.SandboxUnavailable,
];

/** An HTTP-facing error raised by API code; the one error handler turns it into {error: {code, message}}. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

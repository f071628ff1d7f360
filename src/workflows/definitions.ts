// Messages and I/O of the research-run workflow. The API imports this file, never the workflow itself.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const RUN_STATUSES = [
  'queued',
  'analyzing',
  'retrieving',
  'ideating',
  'awaiting_approval',
  'approved',
  'implementing',
  'executing',
  'debugging',
  'validating',
  'succeeded',
  'rejected',
  'cancelled',
  'failed',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'rejected', 'cancelled', 'failed'];
/** Statuses in which the ExperimentAgent works and takes feedback. */
export const EXPERIMENT_STATUSES: readonly RunStatus[] = ['implementing', 'executing', 'debugging'];

/**
 * Where a run stops: after approval (ideas only), after the measured candidate (`measured`, no
 * validation), or after validation and the report (`succeeded`, the default).
 */
export type RunUntil = 'approved' | 'measured' | 'succeeded';

/** Terminal for this run: its final status, given where it was asked to stop. */
export const isFinished = (status: RunStatus, until: RunUntil): boolean =>
  TERMINAL_STATUSES.includes(status) || (until === 'approved' && status === 'approved');

export type RunMode = 'supervised' | 'autonomous';

/** What happens when nobody decides in time. */
export interface ApprovalTimeout {
  seconds: number;
  action: 'approve_top' | 'fail';
}

/** Activity timeouts the workflow uses; tests shorten them to exercise worker loss quickly. */
export interface RunTimeouts {
  llmStartToCloseSeconds: number;
  llmHeartbeatSeconds: number;
  llmMaxAttempts: number;
}

export interface RunInput {
  runId: string;
  paperId: string;
  mode: RunMode;
  ideaCount: number;
  approvalTimeout?: ApprovalTimeout;
  maxRevisions: number;
  timeouts: RunTimeouts;
  until: RunUntil;
  experiment: { maxSteps: number; maxDebugIterations: number; execTimeoutSeconds: number };
  validation: { seeds: number; parallelism: number };
  /** Where this run's experiments run, when it chose (one of MLR_EXECUTORS); else MLR_EXECUTOR. */
  executor?: 'local' | 'kubernetes';
}

export interface Decision {
  decision: 'approve' | 'revise' | 'reject';
  ideaId?: string;
  feedback?: string;
}

/** A ranked idea as the workflow knows it: the full idea lives in Postgres. */
export interface IdeaRef {
  id: string;
  title: string;
  rank: number;
}

export interface RunSnapshot {
  runId: string;
  status: RunStatus;
  round: number;
  ideas: IdeaRef[];
  selectedIdeaId?: string;
  error?: string;
  step: number;
  attempt: number;
  paused: boolean;
}

export const approvalUpdate = defineUpdate<RunSnapshot, [Decision]>('approval');
export const stateQuery = defineQuery<RunSnapshot>('state');
export const feedbackSignal = defineSignal<[string]>('feedback');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');

export const workflowIdFor = (runId: string): string => `run-${runId}`;

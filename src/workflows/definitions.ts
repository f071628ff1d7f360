// Messages and I/O of the research-run workflow. The API imports this file, never the workflow itself.
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const RUN_STATUSES = [
  'queued', 'analyzing', 'retrieving', 'ideating', 'awaiting_approval',
  'approved', 'rejected', 'cancelled', 'failed',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_STATUSES: readonly RunStatus[] = ['approved', 'rejected', 'cancelled', 'failed'];

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
}

export const approvalUpdate = defineUpdate<RunSnapshot, [Decision]>('approval');
export const stateQuery = defineQuery<RunSnapshot>('state');

export const workflowIdFor = (runId: string): string => `run-${runId}`;

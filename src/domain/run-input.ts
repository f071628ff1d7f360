// A research run's vocabulary: its input, statuses, decisions and snapshot. Pure types and functions, shared by
// every layer (the stores, the API, the activities and the workflow, whose signals are in workflows/definitions.ts).
import type { BudgetExhaustion } from './budget';
import { RUN_STATUSES } from './run';

export { RUN_STATUSES };
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

/** How the ExperimentAgent works: this service's own way, or MLAgentBench's research agent as upstream runs it. */
export type AgentProfile = 'copilot' | 'mlab';

/** Upstream's limits for its agents (MLAgentBench/runner.py: --max-steps 50, --max-time 5 hours). */
export const MLAB_LIMITS = { maxSteps: 50, maxSeconds: 5 * 60 * 60 } as const;

export interface RunInput {
  runId: string;
  /** The paper the run reads; null for a benchmark's run, which starts from its task's research problem. */
  paperId: string | null;
  mode: RunMode;
  ideaCount: number;
  approvalTimeout?: ApprovalTimeout;
  maxRevisions: number;
  timeouts: RunTimeouts;
  until: RunUntil;
  experiment: {
    maxSteps: number;
    maxDebugIterations: number;
    /** Each execution's limit unless its task sets one (task.json `timeoutSeconds`); MLR_EXEC_TIMEOUT_MS. */
    execTimeoutSeconds: number;
    /**
     * The agent's working time, as upstream's --max-time: the time its steps took in the activities (model calls
     * and actions), never a pause, a wait for a top-up, or a wait for a worker. Unset: 5 hours for mlab, none else.
     */
    agentSeconds?: number;
  };
  validation: { seeds: number; parallelism: number };
  /** Where this run's experiments run, when it chose (one of MLR_EXECUTORS); else MLR_EXECUTOR. */
  executor?: 'local' | 'kubernetes';
  /** Resources for every execution, over the task's own (a campaign's `resources`). */
  resources?: { cpu?: number; memoryMb?: number; gpus?: number; gpuType?: string };
  /** Set for a campaign's run: where it reports, and which of its paper's ideas it carries. */
  campaign?: CampaignLink;
  /** Attempts per webhook delivery when MLR_WEBHOOK_URL was set at creation; unset: no webhooks. */
  webhookAttempts?: number;
  /** Set for a benchmark's run: no paper and no idea; the agent gets the task's research problem alone. */
  benchmark?: { taskId: string; profile: AgentProfile };
}

/** A run's place in its campaign. */
export interface CampaignLink {
  campaignId: string;
  workflowId: string;
  slot: number;
  /** The run carries its paper's idea of this rank (1 = best). */
  ideaRank: number;
  /** The run of the same paper whose analysis, related work and ideas this run adopts instead of paying again. */
  ideasFrom?: string;
  /** At most this many of the campaign's executions at once. */
  maxConcurrentJobs?: number;
}

/** What a campaign's run tells its campaign (a signal): ideas ready, parked or unparked, finished. */
export interface ChildNote {
  slot: number;
  runId: string;
  kind: 'ideas' | 'status' | 'finished';
  status?: RunStatus;
  /** kind ideas: how many ranked ideas the paper has. */
  ideas?: number;
  /** status awaiting_budget: what ran out. */
  budget?: BudgetExhaustion;
}

export interface Decision {
  decision: 'approve' | 'revise' | 'reject';
  ideaId?: string;
  feedback?: string;
  /** On approval: the Hub models and datasets the chosen idea's plan retrieves, replacing what it proposed. */
  hub?: Array<{ kind: 'model' | 'dataset'; id: string }>;
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
  /** Set while the run waits in awaiting_budget: what ran out. */
  budget?: BudgetExhaustion;
}

/**
 * Statuses in which a campaign's run does not count against maxConcurrentRuns: it waits on a person, a top-up, or
 * (awaiting_slot) a place in the window, which it asks for before it works again.
 */
export const PARKED_STATUSES: readonly RunStatus[] = ['awaiting_approval', 'awaiting_budget', 'awaiting_slot'];

export const workflowIdFor = (runId: string): string => `run-${runId}`;

/** A webhook to deliver (workflows/webhook.ts delivers it; activities build its payload). */
export type WebhookEvent = 'decision.needed' | 'run.finished' | 'budget.exhausted' | 'campaign.done';

export interface WebhookRequest {
  /** Unique per event: the delivery id receivers deduplicate on, and the delivery workflow's id. */
  id: string;
  event: WebhookEvent;
  runId?: string;
  campaignId?: string;
}

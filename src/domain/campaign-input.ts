// A campaign's vocabulary: its input, statuses, snapshot and the input of each of its runs. Pure, shared by every
// layer; the campaign workflow's messages are in workflows/campaign-definitions.ts.
import type { AgentProfile, CampaignLink, RunInput, RunStatus } from './run-input';

export const CAMPAIGN_STATUSES = [
  'queued',
  'running',
  'paused',
  'awaiting_budget',
  'completed',
  'cancelled',
  'expired',
  'failed',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
export const CAMPAIGN_FINAL: readonly CampaignStatus[] = ['completed', 'cancelled', 'expired', 'failed'];

/** What every run of the campaign shares; the campaign adds runId, paperId and the CampaignLink. */
export type RunTemplate = Omit<RunInput, 'runId' | 'paperId' | 'campaign'>;

export interface CampaignInput {
  campaignId: string;
  /** The papers of a campaign (empty for a benchmark). */
  paperIds: string[];
  /** A benchmark's library tasks: its runs start from each task's research problem, with no paper or idea. */
  taskIds?: string[];
  /** A benchmark's agent profile. */
  profile?: AgentProfile;
  /** Run i of a paper carries its i-th ranked idea. */
  runsPerPaper: number;
  template: RunTemplate;
  /** Runs working at once (runs waiting on a person or a top-up do not count). */
  maxConcurrentRuns: number;
  maxConcurrentJobs?: number;
  /** ISO time after which no run starts and the ones still working are cancelled. */
  deadline?: string;
  /** Events in history before continue-as-new. */
  historyLimit: number;
  /** Carried over continue-as-new. */
  carry?: CampaignCarry;
}

/** A started, unfinished run. */
export interface ActiveRun {
  runId: string;
  /** Waiting on a person, a top-up, or a place in the window (awaiting_slot). */
  parked?: RunStatus;
  /** Parked on the campaign's budget (topped up by the campaign's top-up). */
  campaignBudget?: boolean;
  /** A paper's first run: its ideas are ready, its siblings eligible. */
  ideas?: boolean;
}

/** The compact state a campaign continues as new with: thousands of runs stay a few kilobytes of counters. */
export interface CampaignCarry {
  /** Papers whose first run has been started (in order). */
  nextPaper: number;
  /** Slots whose paper has ideas, waiting their turn: [slot, runId of the paper's first run]. */
  eligible: Array<[number, string]>;
  active: Record<string, ActiveRun>;
  finished: Partial<Record<RunStatus, number>>;
  skipped: number;
  started: number;
  paused: boolean;
  awaitingBudget: boolean;
  generation: number;
}

export interface CampaignSnapshot {
  campaignId: string;
  status: CampaignStatus;
  started: number;
  active: number;
  parked: number;
  /** Of the parked: runs ready to work again, waiting for a place in the window. */
  awaitingSlot: number;
  finished: Partial<Record<RunStatus, number>>;
  skipped: number;
  total: number;
  generation: number;
}

export const campaignWorkflowId = (campaignId: string): string => `campaign-${campaignId}`;

/** What a benchmark's run announces as its ideas: more than any runsPerPaper, so that every sibling may start. */
export const BENCHMARK_SIBLINGS = 1_000_000;

/** How many papers (or, for a benchmark, tasks) the campaign runs: each gets runsPerPaper runs. */
export const subjectCount = (c: Pick<CampaignInput, 'paperIds' | 'taskIds'>): number =>
  c.taskIds?.length ?? c.paperIds.length;

/** The input of one of the campaign's runs: a pure function, shared by the workflow and the activity. */
export function campaignRunInput(
  c: Pick<
    CampaignInput,
    'campaignId' | 'template' | 'maxConcurrentJobs' | 'runsPerPaper' | 'paperIds' | 'taskIds' | 'profile'
  >,
  slot: number,
  runId: string,
  ideasFrom?: string,
): RunInput {
  const link: CampaignLink = {
    campaignId: c.campaignId,
    workflowId: campaignWorkflowId(c.campaignId),
    slot,
    ideaRank: (slot % c.runsPerPaper) + 1,
    ...(ideasFrom ? { ideasFrom } : {}),
    ...(c.maxConcurrentJobs ? { maxConcurrentJobs: c.maxConcurrentJobs } : {}),
  };
  const subject = Math.floor(slot / c.runsPerPaper);
  if (c.taskIds) {
    const taskId = c.taskIds[subject]!;
    return {
      ...c.template,
      runId,
      paperId: null,
      campaign: link,
      benchmark: { taskId, profile: c.profile ?? 'copilot' },
    };
  }
  return { ...c.template, runId, paperId: c.paperIds[subject]!, campaign: link };
}

// The run's state machine, free of Temporal calls so it can be tested directly.
import type { Decision, IdeaRef, RunInput, RunSnapshot, RunStatus } from './definitions';
import { ErrorType } from '../errors';
import type { BudgetExhaustion } from '../domain/budget';

export interface DecisionProblem {
  type: string;
  message: string;
}

export class RunState {
  status: RunStatus = 'queued';
  /** The last status written to Postgres; update handlers answer only once the record agrees. */
  persisted: RunStatus = 'queued';
  round = 0;
  ideas: IdeaRef[] = [];
  selectedIdeaId?: string;
  error?: string;
  /** The failure's type (an ErrorType or Temporal's failure name), recorded for benchmark accounting. */
  errorType?: string;
  pending?: Decision;
  step = 0;
  attempt = 0;
  /** The agent's working time so far: the sum of its steps' time inside their activities. */
  agentMs = 0;
  paused = false;
  feedback: string[] = [];
  /** Top-ups received; a run in awaiting_budget waits for this to grow. */
  budgetEpoch = 0;
  budget?: BudgetExhaustion;
  /** The campaign was told this run's ideas are ready. */
  ideasAnnounced = false;
  /**
   * A campaign's run holds a place in its window from its start until it announces a park; it asks for a place
   * again (awaiting_slot) before it works, and `slotGranted` says the campaign gave one.
   */
  holdsSlot = true;
  slotGranted = false;

  constructor(readonly input: RunInput) {}

  snapshot(): RunSnapshot {
    return {
      runId: this.input.runId,
      status: this.status,
      round: this.round,
      ideas: this.ideas,
      selectedIdeaId: this.selectedIdeaId,
      error: this.error,
      step: this.step,
      attempt: this.attempt,
      paused: this.paused,
      ...(this.budget ? { budget: this.budget } : {}),
    };
  }

  /** Why a decision cannot be accepted now, or undefined. Pure: used by the update validator. */
  checkDecision(d: Decision): DecisionProblem | undefined {
    if (this.status !== 'awaiting_approval' || this.pending) {
      return { type: ErrorType.NotAwaitingApproval, message: `run is ${this.status}, not awaiting approval` };
    }
    if (d.decision === 'approve' && d.ideaId !== undefined && !this.ideas.some((i) => i.id === d.ideaId)) {
      return { type: ErrorType.IdeaNotFound, message: `idea ${d.ideaId} is not among this run's current ideas` };
    }
    if (d.decision === 'revise') {
      if (!d.feedback?.trim()) return { type: ErrorType.InvalidDecision, message: 'revise needs feedback' };
      if (this.round >= this.input.maxRevisions) {
        return { type: ErrorType.RevisionLimit, message: `revision limit of ${this.input.maxRevisions} reached` };
      }
    }
    return undefined;
  }

  /** The idea an approval without ideaId takes: the campaign's rank for this run, else the best (or the last). */
  defaultIdea(): IdeaRef {
    const rank = this.input.campaign?.ideaRank;
    const sorted = [...this.ideas].sort((a, b) => a.rank - b.rank);
    if (rank === undefined) return this.topIdea();
    const idea = sorted[Math.min(rank, sorted.length) - 1];
    if (!idea) throw new Error('no ideas to choose from');
    return idea;
  }

  topIdea(): IdeaRef {
    const top = [...this.ideas].sort((a, b) => a.rank - b.rank)[0];
    if (!top) throw new Error('no ideas to choose from');
    return top;
  }
}

// The campaign's bookkeeping, free of Temporal calls so it can be tested directly. Every slot (paper p, rank r)
// is in exactly one place: not yet reachable (its paper's first run has no ideas yet), eligible, active, finished
// or skipped; `accounted()` checks that, and the tests hold it across continue-as-new.
import type { BudgetLimit } from '../domain/budget';
import type { ChildNote, RunStatus } from './definitions';
import { PARKED_STATUSES } from './definitions';
import type { CampaignCarry, CampaignInput, CampaignSnapshot, CampaignStatus } from './campaign-definitions';
import { subjectCount } from './campaign-definitions';

export interface SlotToStart {
  slot: number;
  ideasFrom?: string;
}

export class CampaignState {
  readonly carry: CampaignCarry;
  /** Set by every message; the main loop wakes on it. */
  changed = false;
  status: CampaignStatus = 'running';
  /** Children to tell about a pause or resume. */
  propagate?: 'pause' | 'resume';
  /** Runs parked on the campaign's budget to wake after a top-up. */
  toWake: string[] = [];
  /** A run just reported the campaign's budget spent: to be checked (a top-up may have raced it). */
  budgetReports: Array<{ runId: string; limit: BudgetLimit; requested: number }> = [];

  constructor(readonly input: CampaignInput) {
    this.carry = input.carry ?? {
      nextPaper: 0,
      eligible: [],
      active: {},
      finished: {},
      skipped: 0,
      started: 0,
      paused: false,
      awaitingBudget: false,
      generation: 0,
    };
  }

  get total(): number {
    return subjectCount(this.input) * this.input.runsPerPaper;
  }

  private get perPaper(): number {
    return this.input.runsPerPaper;
  }

  activeRuns(): Array<[number, CampaignCarry['active'][string]]> {
    return Object.entries(this.carry.active).map(([slot, a]) => [Number(slot), a]);
  }

  working(): number {
    return this.activeRuns().filter(([, a]) => !a.parked).length;
  }

  finishedCount(): number {
    return Object.values(this.carry.finished).reduce((n, k) => n + (k ?? 0), 0);
  }

  /**
   * Runs back from a park that asked for a place (awaiting_slot), in slot order, as many as the window has room
   * for. They count as working from here; the caller tells them. They go before any new run: they are further on.
   */
  grantSlots(): string[] {
    const c = this.carry;
    if (c.paused || c.awaitingBudget) return [];
    const room = this.input.maxConcurrentRuns - this.working();
    const asking = this.activeRuns().filter(([, a]) => a.parked === 'awaiting_slot');
    return asking.slice(0, Math.max(0, room)).map(([, a]) => {
      delete a.parked;
      return a.runId;
    });
  }

  /** The next slots to start, within the window; siblings of papers with ideas first, then new papers. */
  nextBatch(limit: number): SlotToStart[] {
    const c = this.carry;
    if (c.paused || c.awaitingBudget) return [];
    const n = Math.min(limit, this.input.maxConcurrentRuns - this.working());
    const out: SlotToStart[] = [];
    while (out.length < n && c.eligible.length > 0) {
      const [slot, from] = c.eligible.shift()!;
      out.push({ slot, ideasFrom: from });
    }
    while (out.length < n && c.nextPaper < subjectCount(this.input)) {
      out.push({ slot: c.nextPaper * this.perPaper });
      c.nextPaper += 1;
    }
    return out;
  }

  started(slot: number, runId: string): void {
    this.carry.active[String(slot)] = { runId };
    this.carry.started += 1;
  }

  /** A message from one of the campaign's runs. Duplicates and late arrivals are harmless. */
  note(n: ChildNote): void {
    this.changed = true;
    const a = this.carry.active[String(n.slot)];
    if (!a || a.runId !== n.runId) return;
    if (n.kind === 'ideas') {
      if (n.slot % this.perPaper !== 0 || a.ideas) return;
      a.ideas = true;
      const reachable = Math.min(this.perPaper, Math.max(1, n.ideas ?? 0));
      for (let rank = 2; rank <= reachable; rank++) this.carry.eligible.push([n.slot + rank - 1, n.runId]);
      // A paper with fewer ideas than runsPerPaper: the ranks it lacks are skipped, not waited for.
      this.carry.skipped += this.perPaper - reachable;
      return;
    }
    if (n.kind === 'status') {
      if (n.status && PARKED_STATUSES.includes(n.status)) {
        a.parked = n.status;
        a.campaignBudget = n.status === 'awaiting_budget' && n.budget?.scope === 'campaign';
        if (a.campaignBudget && n.budget) {
          this.budgetReports.push({ runId: a.runId, limit: n.budget.limit, requested: n.budget.requested });
        }
      } else if (a.parked !== 'awaiting_slot') {
        // A run of an earlier version moves on without asking; one waiting for a place moves on only once granted.
        delete a.parked;
        delete a.campaignBudget;
      }
      return;
    }
    // finished
    delete this.carry.active[String(n.slot)];
    const status = (n.status ?? 'failed') as RunStatus;
    this.carry.finished[status] = (this.carry.finished[status] ?? 0) + 1;
    if (n.slot % this.perPaper === 0 && !a.ideas) this.carry.skipped += this.perPaper - 1;
  }

  /** Signals to send or budget reports to check: done before continuing as new (they are not carried). */
  hasPendingWork(): boolean {
    return this.propagate !== undefined || this.toWake.length > 0 || this.budgetReports.length > 0;
  }

  /** No run left to start or to wait for. */
  done(): boolean {
    const c = this.carry;
    return c.nextPaper >= subjectCount(this.input) && c.eligible.length === 0 && Object.keys(c.active).length === 0;
  }

  /** Slots never started when the campaign stops early: those of unstarted papers and unreached ranks. */
  unstarted(): number {
    return this.total - this.carry.started - this.carry.skipped;
  }

  /**
   * Every slot is somewhere: started (active or finished), eligible, skipped, or still behind its paper's first
   * run (which is active without ideas yet, or not started).
   */
  accounted(): boolean {
    const c = this.carry;
    const waitingOnFirst = this.activeRuns().filter(([slot, a]) => slot % this.perPaper === 0 && !a.ideas).length;
    const unstartedPapers = subjectCount(this.input) - c.nextPaper;
    const finished = this.finishedCount();
    const active = Object.keys(c.active).length;
    return (
      c.started === finished + active &&
      c.started +
        c.eligible.length +
        c.skipped +
        waitingOnFirst * (this.perPaper - 1) +
        unstartedPapers * this.perPaper ===
        this.total
    );
  }

  snapshot(): CampaignSnapshot {
    const active = this.activeRuns();
    return {
      campaignId: this.input.campaignId,
      status: this.status,
      started: this.carry.started,
      active: active.length,
      parked: active.filter(([, a]) => a.parked).length,
      awaitingSlot: active.filter(([, a]) => a.parked === 'awaiting_slot').length,
      finished: { ...this.carry.finished },
      skipped: this.carry.skipped,
      total: this.total,
      generation: this.carry.generation,
    };
  }
}

import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { describeExhaustion, type BudgetExhaustion } from '../domain/budget';
import { ErrorType, nonRetryableErrorTypes } from '../errors';
import { budgetGuard } from './budget-guard';
import { experimentStage } from './experiment-stage';
import {
  approvalUpdate,
  budgetSignal,
  childSignal,
  feedbackSignal,
  isFinished,
  PARKED_STATUSES,
  pauseSignal,
  resumeSignal,
  slotSignal,
  stateQuery,
  type ChildNote,
  type Decision,
  type RunInput,
  type RunSnapshot,
  type RunStatus,
} from './definitions';
import { RunState } from './run-state';
import { emitWebhook } from './webhook';
import { BENCHMARK_SIBLINGS } from './campaign-definitions';

/**
 * One research run: analyse the paper, retrieve related work, propose and rank ideas, then wait (for days
 * if need be) for a person to approve, revise or reject. Later stages continue from `approved`.
 */
export async function researchRun(input: RunInput): Promise<RunSnapshot> {
  const state = new RunState(input);
  const { llmStartToCloseSeconds, llmHeartbeatSeconds, llmMaxAttempts } = input.timeouts;
  const guard = <T extends object>(acts: T): T => budgetGuard(acts, (e) => park(e));
  const llm = guard(
    proxyActivities<Activities>({
      startToCloseTimeout: `${llmStartToCloseSeconds}s`,
      heartbeatTimeout: `${llmHeartbeatSeconds}s`,
      retry: {
        initialInterval: '1s',
        backoffCoefficient: 2,
        maximumInterval: '2m',
        maximumAttempts: llmMaxAttempts,
        nonRetryableErrorTypes,
      },
    }),
  );
  const record = proxyLocalActivities<Activities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '200ms', maximumInterval: '10s', maximumAttempts: 20 },
  });

  /**
   * Runs a campaign began before slots existed leave a park without asking: replayed, they keep doing so. Asked
   * once, at the start, so every later branch agrees with the history.
   */
  const slots = input.campaign !== undefined && patched('campaign-slots');
  setHandler(slotSignal, () => {
    state.slotGranted = true;
  });

  /** Tells the campaign (if any) about this run; a campaign that is gone is no reason to fail. */
  const notify = async (note: Omit<ChildNote, 'slot' | 'runId'>): Promise<boolean> => {
    const link = input.campaign;
    if (!link) return false;
    try {
      await getExternalWorkflowHandle(link.workflowId).signal(childSignal, {
        slot: link.slot,
        runId: input.runId,
        ...note,
      });
      return true;
    } catch (err) {
      log.warn('campaign not reachable', { runId: input.runId, error: (err as Error).message });
      return false;
    }
  };
  const webhook = (id: string, event: 'decision.needed' | 'run.finished' | 'budget.exhausted') =>
    emitWebhook(input.webhookAttempts, {
      id: `${input.runId}-${id}`,
      event,
      runId: input.runId,
      campaignId: input.campaign?.campaignId,
    });

  const moveTo = async (
    status: RunStatus,
    extra: { error?: string; errorType?: string; decision?: Decision } = {},
  ): Promise<void> => {
    const was = state.status;
    state.status = status;
    await record.recordStatus({
      runId: input.runId,
      status,
      round: state.round,
      selectedIdeaId: state.selectedIdeaId,
      ...extra,
    });
    state.persisted = status;
    if (!input.campaign || isFinished(status, input.until)) return;
    const note = { kind: 'status', status, ...(status === 'awaiting_budget' ? { budget: state.budget } : {}) } as const;
    if (!slots) {
      // Before slots: the campaign heard when a run parked and when it moved on, and counted it working again.
      if (PARKED_STATUSES.includes(status) || PARKED_STATUSES.includes(was)) await notify(note);
      return;
    }
    // An autonomous run decides at once: it never gives up its place for a decision.
    if (!PARKED_STATUSES.includes(status) || (status === 'awaiting_approval' && input.mode === 'autonomous')) return;
    state.holdsSlot = false;
    // A campaign that is gone grants nothing and limits nothing: the run goes on.
    if (!(await notify(note)) && status === 'awaiting_slot') state.slotGranted = true;
  };

  /**
   * A campaign's run that gave up its place (to wait on a person or a top-up) asks for one again, visibly, and
   * works only once the campaign grants it: the window never holds more working runs than it allows.
   */
  async function takeSlot(): Promise<void> {
    if (!slots || state.holdsSlot) return;
    state.slotGranted = false;
    await moveTo('awaiting_slot');
    await condition(() => state.slotGranted);
    state.holdsSlot = true;
  }

  /**
   * A refused reservation: wait, visibly, for a top-up of whichever budget ran out, then carry on. Parallel
   * activities (validation lanes) refused together share one wait.
   */
  let parking: Promise<void> | undefined;
  const park = (exhaustion: BudgetExhaustion): Promise<void> =>
    (parking ??= waitForTopUp(exhaustion).finally(() => {
      parking = undefined;
    }));
  async function waitForTopUp(exhaustion: BudgetExhaustion): Promise<void> {
    const resumeAs = state.status;
    const seen = state.budgetEpoch;
    state.budget = exhaustion;
    await moveTo('awaiting_budget', { error: describeExhaustion(exhaustion) });
    // A campaign's own budget is announced once by the campaign, not by each of its runs.
    if (exhaustion.scope === 'run') await webhook(`budget-${seen}`, 'budget.exhausted');
    // Woken by a top-up (or every half hour, in case one was missed), it goes on only once the reservation fits.
    let epoch = seen;
    do {
      await condition(() => state.budgetEpoch > epoch, '30 minutes');
      epoch = state.budgetEpoch;
    } while (!(await llm.budgetFits({ runId: input.runId, exhaustion })));
    state.budget = undefined;
    await takeSlot();
    await moveTo(resumeAs);
  }

  setHandler(stateQuery, () => state.snapshot());
  setHandler(feedbackSignal, (text) => {
    state.feedback.push(text);
  });
  setHandler(pauseSignal, () => {
    state.paused = true;
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
  });
  setHandler(budgetSignal, () => {
    state.budgetEpoch += 1;
  });
  setHandler(
    approvalUpdate,
    async (decision) => {
      state.pending = decision;
      await condition(() => state.persisted !== 'awaiting_approval');
      return state.snapshot();
    },
    {
      validator: (decision) => {
        const problem = state.checkDecision(decision);
        if (problem) throw ApplicationFailure.nonRetryable(problem.message, problem.type);
      },
    },
  );

  /** A run of a paper: analysis, related work, ideas and the decision on them, then the experiment. */
  async function paperRun(): Promise<void> {
    const adopt = input.campaign?.ideasFrom;
    if (!adopt) {
      await moveTo('analyzing');
      await llm.analyzePaper({ runId: input.runId });
      await moveTo('retrieving');
      await llm.retrieveRelatedWork({ runId: input.runId });
    }

    let feedback: string | undefined;
    for (;;) {
      // Revised ideas are work again: a run that waited for the decision asks for its place first.
      await takeSlot();
      await moveTo('ideating');
      if (adopt && state.round === 0) {
        // Another run of the same paper paid for the analysis and the ideas: this one carries another of them.
        state.ideas = await llm.adoptIdeas({ runId: input.runId, fromRunId: adopt });
      } else {
        await llm.generateIdeas({ runId: input.runId, round: state.round, count: input.ideaCount, feedback });
        state.ideas = await llm.reviewIdeas({ runId: input.runId, round: state.round });
      }
      if (input.campaign && !state.ideasAnnounced) {
        state.ideasAnnounced = true;
        if (!adopt) await notify({ kind: 'ideas', ideas: state.ideas.length });
      }
      await moveTo('awaiting_approval');
      if (input.mode === 'supervised') await webhook(`decision-${state.round}`, 'decision.needed');

      const decision = await awaitDecision(state);
      state.pending = undefined;
      if (decision.decision === 'revise') {
        feedback = decision.feedback;
        state.round += 1;
        await record.recordEvent({ runId: input.runId, type: 'decision', data: { ...decision } });
        continue;
      }
      if (decision.decision === 'reject') {
        await moveTo('rejected', { decision });
      } else {
        state.selectedIdeaId = decision.ideaId ?? state.defaultIdea().id;
        await moveTo('approved', { decision: { ...decision, ideaId: state.selectedIdeaId } });
        // Runs recorded before the experiment stage existed end at approved when replayed.
        if (patched('experiment-stage') && input.until !== 'approved') {
          await takeSlot();
          await experimentStage(input, state, moveTo, guard);
        }
      }
      break;
    }
  }

  /**
   * A benchmark's run: no paper and no idea. Its siblings need nothing from it, so the campaign hears at once
   * that they may start; then straight to the experiment, which the agent works from the research problem alone.
   */
  async function benchmarkRun(): Promise<void> {
    await notify({ kind: 'ideas', ideas: BENCHMARK_SIBLINGS });
    await moveTo('approved');
    if (input.until !== 'approved') await experimentStage(input, state, moveTo, guard);
  }

  try {
    if (input.benchmark) await benchmarkRun();
    else await paperRun();
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        // Stopped while parked for money: a budget stop, which benchmark results keep apart from a person's.
        await moveTo('cancelled', state.status === 'awaiting_budget' ? { errorType: ErrorType.BudgetExhausted } : {});
        await notify({ kind: 'finished', status: 'cancelled' });
      });
      throw err;
    }
    if (
      err instanceof ApplicationFailure &&
      (err.type === ErrorType.ApprovalTimedOut ||
        err.type === ErrorType.ExperimentFailed ||
        err.type === ErrorType.BaselineFailed)
    ) {
      state.error = err.message;
      state.errorType = err.type ?? undefined;
    } else if (err instanceof ActivityFailure) {
      state.error = err.cause?.message ?? err.message;
      // Why it failed, as a type benchmark results can classify: the activity's own, or the kind of failure
      // Temporal gave up on (a timeout, a crash).
      state.errorType = (err.cause instanceof ApplicationFailure ? err.cause.type : err.cause?.name) ?? undefined;
    } else {
      throw err; // a bug in workflow code: let the workflow task retry once the fix is deployed
    }
    log.warn('run failed', { runId: input.runId, error: state.error });
    await moveTo('failed', { error: state.error, errorType: state.errorType });
  }
  await notify({ kind: 'finished', status: state.status });
  await webhook('finished', 'run.finished');
  return state.snapshot();
}

/** Autonomous runs decide at once; supervised ones wait, optionally with a deadline. */
async function awaitDecision(state: RunState): Promise<Decision> {
  const { mode, approvalTimeout } = state.input;
  if (mode === 'autonomous') return { decision: 'approve', ideaId: state.defaultIdea().id };
  if (!approvalTimeout) {
    await condition(() => state.pending !== undefined);
    return state.pending!;
  }
  const decided = await condition(() => state.pending !== undefined, approvalTimeout.seconds * 1000);
  if (decided) return state.pending!;
  if (approvalTimeout.action === 'approve_top') return { decision: 'approve', ideaId: state.defaultIdea().id };
  throw ApplicationFailure.nonRetryable(
    `no decision within the approval timeout of ${approvalTimeout.seconds}s`,
    ErrorType.ApprovalTimedOut,
  );
}

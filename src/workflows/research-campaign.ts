import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import { BUDGET_LIMITS } from '../domain/budget';
import { ErrorType } from '../errors';
import {
  campaignRunInput,
  campaignStateQuery,
  topUpUpdate,
  type CampaignInput,
  type CampaignSnapshot,
  type CampaignStatus,
} from './campaign-definitions';
import { CampaignState } from './campaign-state';
import { budgetSignal, childSignal, pauseSignal, resumeSignal, slotSignal, workflowIdFor } from './definitions';
import type { researchRun } from './research-run';
import { emitWebhook } from './webhook';

/** Runs created and started per round trip: one activity writes their rows, then their starts go out together. */
const BATCH = 50;
/** How often an idle campaign checks its runs in Postgres, in case a run's message was lost. */
const RECONCILE_EVERY = '10 minutes';

/**
 * A campaign: many papers' research runs as child workflows (each keeps its own id, API and events), a sliding
 * window of working runs, one budget, and continue-as-new with compact state. Children are abandoned on
 * close (they outlive each continue-as-new) and report to the campaign by signal, by workflow id.
 */
export async function researchCampaign(input: CampaignInput): Promise<CampaignSnapshot> {
  const st = new CampaignState(input);
  const acts = proxyActivities<Activities>({
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: [ErrorType.NotFound] },
  });
  const record = proxyLocalActivities<Activities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '200ms', maximumInterval: '10s' },
  });
  const { campaignId } = input;

  setHandler(campaignStateQuery, () => st.snapshot());
  setHandler(childSignal, (note) => st.note(note));
  setHandler(pauseSignal, () => {
    if (st.carry.paused) return;
    st.carry.paused = true;
    st.propagate = 'pause';
    st.changed = true;
  });
  setHandler(resumeSignal, () => {
    if (!st.carry.paused) return;
    st.carry.paused = false;
    st.propagate = 'resume';
    st.changed = true;
  });
  setHandler(
    topUpUpdate,
    async (add) => {
      await acts.topUpCampaign({ campaignId, add });
      st.carry.awaitingBudget = false;
      st.toWake.push(...st.activeRuns().flatMap(([, a]) => (a.campaignBudget ? [a.runId] : [])));
      st.changed = true;
      return st.snapshot();
    },
    {
      validator: (add) => {
        if (!BUDGET_LIMITS.some((k) => (add as Record<string, unknown>)[k] !== undefined)) {
          throw ApplicationFailure.nonRetryable('a top-up names usd, tokens, gpuHours or cpuHours', 'InvalidTopUp');
        }
      },
    },
  );

  const setStatus = async (status: CampaignStatus, data: Record<string, unknown> = {}) => {
    if (st.status === status) return;
    st.status = status;
    await record.recordCampaign({ campaignId, status, data });
  };
  const signals = { pause: pauseSignal, resume: resumeSignal, budget: budgetSignal, slot: slotSignal };
  const signalRuns = async (runIds: string[], signal: keyof typeof signals) => {
    const def = signals[signal];
    await Promise.all(
      runIds.map((id) =>
        getExternalWorkflowHandle(workflowIdFor(id))
          .signal(def)
          .catch((err: Error) => log.warn('run not signalled', { runId: id, error: err.message })),
      ),
    );
  };
  /** Postgres as the check on messages: runs that finished (or announced ideas) without the campaign hearing. */
  const reconcile = async () => {
    const runs = st.activeRuns().map(([slot, a]) => ({ slot, runId: a.runId }));
    if (runs.length === 0) return;
    for (const n of await acts.campaignRunNotes({ runs })) st.note(n);
  };

  st.status = st.carry.paused ? 'paused' : st.carry.awaitingBudget ? 'awaiting_budget' : 'running';
  const done = (id: string) =>
    emitWebhook(input.template.webhookAttempts, { id: `${campaignId}-${id}`, event: 'campaign.done', campaignId });
  try {
    if (!input.carry) await record.recordCampaign({ campaignId, status: 'running', data: { event: 'started' } });
    else await reconcile();
    const deadline = input.deadline ? Date.parse(input.deadline) : undefined;
    for (;;) {
      st.changed = false;
      if (st.propagate) {
        const what = st.propagate;
        st.propagate = undefined;
        await signalRuns(
          st.activeRuns().map(([, a]) => a.runId),
          what,
        );
        await setStatus(what === 'pause' ? 'paused' : 'running', { event: what });
      }
      for (const report of st.budgetReports.splice(0)) {
        // A run that reported the budget spent just as a top-up landed goes on at once.
        if (await acts.budgetFits({ runId: report.runId, exhaustion: { scope: 'campaign', ...report } })) {
          await signalRuns([report.runId], 'budget');
        } else if (!st.carry.awaitingBudget) {
          st.carry.awaitingBudget = true;
          await setStatus('awaiting_budget', { event: 'budget_exhausted' });
          await emitWebhook(input.template.webhookAttempts, {
            id: `${campaignId}-budget-${st.carry.generation}-${st.carry.started}`,
            event: 'budget.exhausted',
            campaignId,
          });
        }
      }
      if (st.toWake.length > 0) await signalRuns(st.toWake.splice(0), 'budget');
      const granted = st.grantSlots();
      if (granted.length > 0) await signalRuns(granted, 'slot');
      if (st.status === 'awaiting_budget' && !st.carry.awaitingBudget) {
        await setStatus(st.carry.paused ? 'paused' : 'running', { event: 'topped_up' });
      }
      if (st.done()) break;
      if (deadline !== undefined && Date.now() >= deadline) {
        await stopAll(st, 'expired');
        await done('done');
        return st.snapshot();
      }

      const info = workflowInfo();
      if (info.historyLength > input.historyLimit || info.continueAsNewSuggested) {
        await condition(allHandlersFinished);
        // Messages only change counters, which are carried; work they asked for (signals to send) is done first.
        if (!st.hasPendingWork()) {
          st.carry.generation += 1;
          return await continueAsNew<typeof researchCampaign>({ ...input, carry: st.carry });
        }
        continue;
      }
      const batch = st.nextBatch(BATCH);
      if (batch.length > 0) {
        const created = await acts.createCampaignRuns({ campaignId, slots: batch });
        // Active before the starts resolve: a run's first message can arrive in the same activation.
        for (const { slot, runId } of created) st.started(slot, runId);
        await Promise.all(
          created.map(async ({ slot, runId }) => {
            const ideasFrom = batch.find((b) => b.slot === slot)?.ideasFrom;
            try {
              await startChild<typeof researchRun>('researchRun', {
                workflowId: workflowIdFor(runId),
                args: [campaignRunInput(input, slot, runId, ideasFrom)],
                parentClosePolicy: ParentClosePolicy.ABANDON,
              });
            } catch (err) {
              // Started by an earlier generation of this campaign: already counted as active there.
              if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
            }
          }),
        );
        continue;
      }

      const wait = deadline !== undefined ? Math.max(1, Math.min(deadline - Date.now(), 600_000)) : RECONCILE_EVERY;
      if (!(await condition(() => st.changed, wait))) await reconcile();
    }
    await setStatus('completed', { event: 'completed', ...st.snapshot() });
    await done('done');
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(async () => {
      await stopAll(st, 'cancelled');
      await done('done');
    });
    throw err;
  }
  return st.snapshot();

  /** Cancels every run still going (their executions stop with them) and records why the campaign ended. */
  async function stopAll(state: CampaignState, status: 'cancelled' | 'expired'): Promise<void> {
    const runIds = state.activeRuns().map(([, a]) => a.runId);
    await Promise.all(
      runIds.map((id) =>
        getExternalWorkflowHandle(workflowIdFor(id))
          .cancel()
          .catch((e: Error) => log.warn('run not cancelled', { runId: id, error: e.message })),
      ),
    );
    await setStatus(status, { event: status, cancelledRuns: runIds.length, neverStarted: state.unstarted() });
  }
}

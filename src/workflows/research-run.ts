import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType, nonRetryableErrorTypes } from '../errors';
import { experimentStage } from './experiment-stage';
import {
  approvalUpdate,
  feedbackSignal,
  pauseSignal,
  resumeSignal,
  stateQuery,
  type Decision,
  type RunInput,
  type RunSnapshot,
  type RunStatus,
} from './definitions';
import { RunState } from './run-state';

/**
 * One research run: analyse the paper, retrieve related work, propose and rank ideas, then wait (for days
 * if need be) for a person to approve, revise or reject. Later stages continue from `approved`.
 */
export async function researchRun(input: RunInput): Promise<RunSnapshot> {
  const state = new RunState(input);
  const { llmStartToCloseSeconds, llmHeartbeatSeconds, llmMaxAttempts } = input.timeouts;
  const llm = proxyActivities<Activities>({
    startToCloseTimeout: `${llmStartToCloseSeconds}s`,
    heartbeatTimeout: `${llmHeartbeatSeconds}s`,
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '2m',
      maximumAttempts: llmMaxAttempts,
      nonRetryableErrorTypes,
    },
  });
  const record = proxyLocalActivities<Activities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '200ms', maximumInterval: '10s', maximumAttempts: 20 },
  });

  const moveTo = async (status: RunStatus, extra: { error?: string; decision?: Decision } = {}): Promise<void> => {
    state.status = status;
    await record.recordStatus({
      runId: input.runId,
      status,
      round: state.round,
      selectedIdeaId: state.selectedIdeaId,
      ...extra,
    });
    state.persisted = status;
  };

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

  try {
    await moveTo('analyzing');
    await llm.analyzePaper({ runId: input.runId });
    await moveTo('retrieving');
    await llm.retrieveRelatedWork({ runId: input.runId });

    let feedback: string | undefined;
    for (;;) {
      await moveTo('ideating');
      await llm.generateIdeas({ runId: input.runId, round: state.round, count: input.ideaCount, feedback });
      state.ideas = await llm.reviewIdeas({ runId: input.runId, round: state.round });
      await moveTo('awaiting_approval');

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
        state.selectedIdeaId = decision.ideaId ?? state.topIdea().id;
        await moveTo('approved', { decision: { ...decision, ideaId: state.selectedIdeaId } });
        // Runs recorded before the experiment stage existed end at approved when replayed.
        if (patched('experiment-stage') && input.until !== 'approved') await experimentStage(input, state, moveTo);
      }
      break;
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => moveTo('cancelled'));
      throw err;
    }
    if (
      err instanceof ApplicationFailure &&
      (err.type === ErrorType.ApprovalTimedOut || err.type === ErrorType.ExperimentFailed)
    ) {
      state.error = err.message;
    } else if (err instanceof ActivityFailure) {
      state.error = err.cause?.message ?? err.message;
    } else {
      throw err; // a bug in workflow code: let the workflow task retry once the fix is deployed
    }
    log.warn('run failed', { runId: input.runId, error: state.error });
    await moveTo('failed', { error: state.error });
  }
  return state.snapshot();
}

/** Autonomous runs decide at once; supervised ones wait, optionally with a deadline. */
async function awaitDecision(state: RunState): Promise<Decision> {
  const { mode, approvalTimeout } = state.input;
  if (mode === 'autonomous') return { decision: 'approve', ideaId: state.topIdea().id };
  if (!approvalTimeout) {
    await condition(() => state.pending !== undefined);
    return state.pending!;
  }
  const decided = await condition(() => state.pending !== undefined, approvalTimeout.seconds * 1000);
  if (decided) return state.pending!;
  if (approvalTimeout.action === 'approve_top') return { decision: 'approve', ideaId: state.topIdea().id };
  throw ApplicationFailure.nonRetryable(
    `no decision within the approval timeout of ${approvalTimeout.seconds}s`,
    ErrorType.ApprovalTimedOut,
  );
}

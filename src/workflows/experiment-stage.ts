import { ApplicationFailure, condition, patched, proxyActivities, sleep, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType, nonRetryableErrorTypes } from '../errors';
import { MLAB_LIMITS, type RunInput, type RunStatus } from './definitions';
import { agentTimeLimitMs, MAX_TASK_TIMEOUT_SECONDS } from '../domain/time-limits';
import type { RunState } from './run-state';
import { validationStage } from './validation-stage';

type MoveTo = (status: RunStatus, extra?: { error?: string }) => Promise<void>;

/**
 * approved → implementing → executing ⇄ debugging → succeeded. The agent works one model step and one
 * action at a time; when it gives its final answer the harness measures the candidate. A failed
 * measurement is handed back to the agent (never retried blind) up to maxDebugIterations times.
 */
export async function experimentStage(
  input: RunInput,
  state: RunState,
  moveTo: MoveTo,
  guard: <T extends object>(acts: T) => T = (acts) => acts,
): Promise<void> {
  const { llmStartToCloseSeconds, llmHeartbeatSeconds, llmMaxAttempts } = input.timeouts;
  const retry: RetryPolicy = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    maximumAttempts: llmMaxAttempts,
    nonRetryableErrorTypes,
  };
  // Guarded: a refused reservation parks the run at this step boundary instead of failing it.
  const steps = guard(
    proxyActivities<Activities>({
      startToCloseTimeout: `${llmStartToCloseSeconds}s`,
      heartbeatTimeout: `${llmHeartbeatSeconds}s`,
      retry,
    }),
  );
  // Actions may execute scripts: they get the longest execution timeout on top (a task may set its own, up to
  // MAX_TASK_TIMEOUT_SECONDS; mlab's executions have none but the agent's time), and heartbeat all the while, so a
  // lost worker is noticed by its heartbeat, not by this.
  const longestExecution = Math.max(input.experiment.execTimeoutSeconds, MAX_TASK_TIMEOUT_SECONDS);
  const runs = guard(
    proxyActivities<Activities>({
      startToCloseTimeout: `${longestExecution + llmStartToCloseSeconds + 600}s`,
      heartbeatTimeout: `${llmHeartbeatSeconds}s`,
      retry,
    }),
  );
  const { runId } = input;
  // The mlab profile keeps upstream's limits: 50 steps, 5 hours of agent time, and a Final Answer that is final
  // (a candidate that fails its measurement ends the run instead of going back to the agent).
  const mlab = input.benchmark?.profile === 'mlab';
  const maxSteps = mlab ? MLAB_LIMITS.maxSteps : input.experiment.maxSteps;
  const maxDebugIterations = mlab ? 0 : input.experiment.maxDebugIterations;
  // Agent time is the time its steps took inside their activities, as each reports it: a pause, a wait for a
  // top-up and a wait for a worker are not the agent's. Histories from before counted wall time from here.
  const measured = patched('agent-working-time');
  const limitMs = measured ? agentTimeLimitMs(input) : Infinity;
  const agentDeadline = mlab && !measured ? Date.now() + MLAB_LIMITS.maxSeconds * 1000 : Infinity;

  const agentTurn = async (): Promise<void> => {
    while (state.step < maxSteps && Date.now() < agentDeadline && state.agentMs < limitMs) {
      await condition(() => !state.paused);
      for (const text of state.feedback.splice(0)) {
        await steps.addAgentNote({ runId, afterStep: state.step - 1, kind: 'feedback', text });
      }
      let final: boolean;
      // One activity round trip per step; histories recorded before it keep their two activities.
      if (patched('one-round-trip-step')) {
        const left = limitMs - state.agentMs;
        const done = await runs.agentStepAndAct({
          runId,
          step: state.step,
          ...(Number.isFinite(left) ? { agentTimeLeftMs: left } : {}),
        });
        final = done.final;
        if (measured) state.agentMs += done.elapsedMs ?? 0;
      } else {
        await steps.agentStep({ runId, step: state.step });
        ({ final } = await runs.agentAction({ runId, step: state.step }));
      }
      state.step += 1;
      if (final) return;
    }
  };

  await moveTo('implementing');
  await steps.selectTask({ runId });
  await runs.setupWorkspace({ runId });
  const baseline = await runs.runBaseline({ runId });
  if (baseline.status !== 'succeeded') {
    throw ApplicationFailure.nonRetryable(
      `the baseline (unmodified starter code) did not run: ${baseline.error}`,
      ErrorType.BaselineFailed,
    );
  }
  for (;;) {
    await agentTurn();
    state.attempt += 1;
    await moveTo('executing');
    const candidate = await runs.runCandidate({ runId, attempt: state.attempt });
    if (candidate.status === 'succeeded') {
      await runs.recordResult({ runId, baselineId: baseline.id, candidateId: candidate.id });
      // Runs recorded before the validation stage existed go straight to succeeded when replayed.
      if (patched('validation-stage') && input.until === 'succeeded') {
        await moveTo('validating');
        await validationStage(input, runs);
      }
      await moveTo('succeeded');
      return;
    }
    const why = `attempt ${state.attempt} ${candidate.status}: ${candidate.error}`;
    if (state.attempt > maxDebugIterations) {
      throw ApplicationFailure.nonRetryable(
        `the candidate failed ${state.attempt} times; last ${why}`,
        ErrorType.ExperimentFailed,
      );
    }
    if (state.step >= maxSteps) {
      throw ApplicationFailure.nonRetryable(
        `the step budget of ${maxSteps} is spent; last ${why}`,
        ErrorType.ExperimentFailed,
      );
    }
    await steps.addAgentNote({
      runId,
      afterStep: state.step - 1,
      kind: 'execution_error',
      text: `${why}\nOutput tail:\n${candidate.logTail}`,
    });
    await moveTo('debugging');
    await sleep(Math.min(1000 * 2 ** (state.attempt - 1), 60_000));
  }
}

// Messages of the research-run workflow; its vocabulary lives in domain/run-input.ts (re-exported here, so
// workflow code and older imports read one module). The API imports this file, never the workflow itself.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ChildNote, Decision, RunSnapshot } from '../domain/run-input';

export * from '../domain/run-input';

export const approvalUpdate = defineUpdate<RunSnapshot, [Decision]>('approval');
export const stateQuery = defineQuery<RunSnapshot>('state');
export const feedbackSignal = defineSignal<[string]>('feedback');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** The run's or its campaign's budget was topped up: a run in awaiting_budget asks again. */
export const budgetSignal = defineSignal('budget');
/** Sent by a campaign's runs to the campaign (by workflow id, so it reaches the campaign after continue-as-new). */
export const childSignal = defineSignal<[ChildNote]>('child');
/** A campaign's run back from a park may go on: the campaign gave it a place in its window. */
export const slotSignal = defineSignal('slot');

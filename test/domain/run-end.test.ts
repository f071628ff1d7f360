// Each way a run can end, classed as MLAgentBench's accounting needs it.
import { countsForUpstream, runEnd } from '../../src/domain/run-end';

it.each([
  // [status, errorType, measured, end]
  ['succeeded', null, true, 'completed'],
  ['implementing', null, false, 'running'],
  ['awaiting_budget', null, false, 'running'],
  ['failed', 'ExperimentFailed', false, 'agent'],
  ['failed', 'LlmInvalidOutput', false, 'agent'],
  ['failed', 'SandboxViolation', false, 'agent'],
  ['failed', null, false, 'agent'], // unexplained: never allowed to inflate the agent's rate
  ['failed', 'LlmUnavailable', false, 'infrastructure'],
  ['failed', 'SandboxUnavailable', false, 'infrastructure'],
  ['failed', 'BaselineFailed', false, 'infrastructure'],
  ['failed', 'TimeoutFailure', false, 'infrastructure'],
  ['failed', 'ValidationShortfall', true, 'completed'],
  ['failed', 'ApprovalTimedOut', false, 'human'],
  ['rejected', null, false, 'human'],
  ['cancelled', null, false, 'human'],
  ['cancelled', 'BudgetExhausted', false, 'budget'],
  ['failed', 'UserQuotaExhausted', false, 'budget'],
  ['cancelled', null, true, 'completed'], // measured before a person stopped it: upstream scores what was left
] as const)('%s with %p (measured %p) ends as %s', (status, type, measured, end) => {
  expect(runEnd(status, type, measured)).toBe(end);
});

it("counts only the agent's own outcomes in upstream's denominator", () => {
  expect(
    ['completed', 'agent', 'infrastructure', 'budget', 'human', 'running'].filter((e) => countsForUpstream(e as never)),
  ).toEqual(['completed', 'agent']);
});

import { RunState } from '../../src/workflows/run-state';
import type { RunInput } from '../../src/workflows/definitions';

const input: RunInput = {
  runId: 'r',
  paperId: 'p',
  mode: 'supervised',
  ideaCount: 2,
  maxRevisions: 1,
  timeouts: { llmStartToCloseSeconds: 60, llmHeartbeatSeconds: 5, llmMaxAttempts: 3 },
  until: 'approved',
  experiment: { maxSteps: 5, maxDebugIterations: 1, execTimeoutSeconds: 60 },
  validation: { seeds: 3, parallelism: 1 },
};

function waiting(): RunState {
  const s = new RunState(input);
  s.status = 'awaiting_approval';
  s.ideas = [
    { id: 'b', title: 'B', rank: 2 },
    { id: 'a', title: 'A', rank: 1 },
  ];
  return s;
}

describe('RunState.checkDecision', () => {
  it('accepts approval of a current idea and of the top idea by default', () => {
    expect(waiting().checkDecision({ decision: 'approve', ideaId: 'b' })).toBeUndefined();
    expect(waiting().checkDecision({ decision: 'approve' })).toBeUndefined();
    expect(waiting().topIdea().id).toBe('a');
  });

  it('refuses decisions outside awaiting_approval and while one is pending', () => {
    const s = new RunState(input);
    expect(s.checkDecision({ decision: 'reject' })?.type).toBe('NotAwaitingApproval');
    const p = waiting();
    p.pending = { decision: 'reject' };
    expect(p.checkDecision({ decision: 'approve' })?.type).toBe('NotAwaitingApproval');
  });

  it('refuses unknown ideas, empty feedback and revisions past the limit', () => {
    expect(waiting().checkDecision({ decision: 'approve', ideaId: 'zzz' })?.type).toBe('IdeaNotFound');
    expect(waiting().checkDecision({ decision: 'revise', feedback: '  ' })?.type).toBe('InvalidDecision');
    const s = waiting();
    s.round = 1;
    expect(s.checkDecision({ decision: 'revise', feedback: 'more' })?.type).toBe('RevisionLimit');
  });
});

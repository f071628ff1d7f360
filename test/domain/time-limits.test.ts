// How long an execution and the agent may take: the task's own limit, the config's, and the agent's time left.
import { MLAB_LIMITS } from '../../src/domain/run-input';
import { agentTimeLimitMs, executionTimeoutMs, MAX_TASK_TIMEOUT_SECONDS } from '../../src/domain/time-limits';

const experiment = { maxSteps: 10, maxDebugIterations: 1, execTimeoutSeconds: 600 };

describe('time limits', () => {
  it.each([
    ['copilot, no limit set', { experiment }, Infinity],
    [
      'mlab: upstream --max-time, 5 hours',
      { experiment, benchmark: { taskId: 't', profile: 'mlab' as const } },
      5 * 3600_000,
    ],
    [
      'mlab with its own limit',
      { experiment: { ...experiment, agentSeconds: 60 }, benchmark: { taskId: 't', profile: 'mlab' as const } },
      60_000,
    ],
    ['copilot with a limit', { experiment: { ...experiment, agentSeconds: 90 } }, 90_000],
  ])("the agent's working-time limit: %s", (_name, input, expected) => {
    expect(agentTimeLimitMs(input)).toBe(expected);
  });

  it.each([
    ["the config's limit by default", { configMs: 600_000 }, 600_000],
    ["the task's own, longer or shorter", { taskSeconds: 7200, configMs: 600_000 }, 7_200_000],
    ["the task's own, shorter", { taskSeconds: 5, configMs: 600_000 }, 5000],
    [
      "mlab's measured executions: the config's (no agent time)",
      { profile: 'mlab' as const, configMs: 600_000 },
      600_000,
    ],
    [
      "mlab agent: upstream's none, only its time left",
      { profile: 'mlab' as const, configMs: 600_000, agentTimeLeftMs: 3 * 3600_000 },
      3 * 3600_000,
    ],
    [
      'mlab agent with a task limit: the shorter',
      { profile: 'mlab' as const, taskSeconds: 60, configMs: 600_000, agentTimeLeftMs: 3600_000 },
      60_000,
    ],
    ['copilot agent near its limit: what is left', { configMs: 600_000, agentTimeLeftMs: 42_000 }, 42_000],
    ['copilot agent with time to spare: the config', { configMs: 600_000, agentTimeLeftMs: 3600_000 }, 600_000],
    [
      'nothing left: still a second, to start and time out',
      { profile: 'mlab' as const, configMs: 600_000, agentTimeLeftMs: -5 },
      1000,
    ],
  ])('an execution: %s', (_name, o, expected) => {
    expect(executionTimeoutMs(o)).toBe(expected);
  });

  it('lets a task ask for at most a day per execution, well past the 5 hours of an mlab run', () => {
    expect(MAX_TASK_TIMEOUT_SECONDS).toBe(86_400);
    expect(MAX_TASK_TIMEOUT_SECONDS).toBeGreaterThan(MLAB_LIMITS.maxSeconds);
  });
});

// A Job and its pods reduced to one phase: each row is a state a real cluster reports.
import { isStuck, observe, type JobLike, type PodLike } from '../../../src/experiments/executor/kubernetes/status';
import { parseSummary } from '../../../src/experiments/executor/kubernetes';

const cond = (type: string, reason?: string, message?: string) => ({ type, status: 'True', reason, message });
const pod = (status: PodLike['status'], created = '2026-11-23T00:00:00Z', node = 'gpu-1'): PodLike => ({
  metadata: { name: `p-${created}`, creationTimestamp: created },
  spec: { nodeName: node },
  status,
});
const waiting = (reason: string) => ({
  phase: 'Pending',
  containerStatuses: [{ name: 'runner', state: { waiting: { reason, message: `${reason}!` } } }],
});

describe('observe', () => {
  it.each<[string, JobLike, PodLike[], string, string | undefined]>([
    ['a new Job without a pod yet', {}, [], 'pending', 'NoPodYet'],
    ['suspended by Kueue (queued, not failed)', { spec: { suspend: true } }, [], 'queued', 'Suspended'],
    [
      'unschedulable',
      { status: { active: 1 } },
      [pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] })],
      'pending',
      'Unschedulable',
    ],
    [
      'pulling an image that does not exist',
      { status: { active: 1 } },
      [pod(waiting('ImagePullBackOff'))],
      'pending',
      'ImagePullBackOff',
    ],
    [
      'a missing Secret',
      { status: { active: 1 } },
      [pod(waiting('CreateContainerConfigError'))],
      'pending',
      'CreateContainerConfigError',
    ],
    [
      'creating the container',
      { status: { active: 1 } },
      [pod(waiting('ContainerCreating'))],
      'pending',
      'ContainerCreating',
    ],
    [
      'running',
      { status: { active: 1 } },
      [
        pod({
          phase: 'Running',
          containerStatuses: [{ name: 'runner', state: { running: { startedAt: '2026-11-23T00:00:01Z' } } }],
        }),
      ],
      'running',
      undefined,
    ],
    ['complete', { status: { conditions: [cond('Complete')] } }, [], 'succeeded', undefined],
    [
      'failed by podFailurePolicy',
      { status: { conditions: [cond('Failed', 'PodFailurePolicy')] } },
      [],
      'failed',
      'PodFailurePolicy',
    ],
    [
      'past its deadline',
      { status: { conditions: [cond('Failed', 'DeadlineExceeded')] } },
      [],
      'failed',
      'DeadlineExceeded',
    ],
    [
      'decided (FailureTarget) but not final: still running',
      { status: { active: 1, conditions: [cond('FailureTarget', 'PodFailurePolicy')] } },
      [pod({ phase: 'Running' })],
      'running',
      undefined,
    ],
  ])('%s', (_name, job, pods, phase, reason) => {
    const o = observe(job, pods);
    expect(o.phase).toBe(phase);
    expect(o.reason).toBe(reason);
  });

  it('reads the exit, the summary, the node and OOMKilled from the newest pod', () => {
    const old = pod({ phase: 'Failed' }, '2026-11-23T00:00:00Z', 'old-node');
    const newest = pod(
      {
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'runner',
            state: {
              terminated: {
                exitCode: 137,
                reason: 'OOMKilled',
                message: '{"v":1,"durationMs":1}',
                startedAt: '2026-11-23T00:05:10Z',
                finishedAt: '2026-11-23T00:06:40Z',
              },
            },
          },
        ],
      },
      '2026-11-23T00:05:00Z',
      'gpu-7',
    );
    const o = observe({ status: { conditions: [cond('Failed', 'BackoffLimitExceeded')] } }, [old, newest]);
    expect(o).toMatchObject({
      phase: 'failed',
      node: 'gpu-7',
      exitCode: 137,
      oomKilled: true,
      terminationMessage: '{"v":1,"durationMs":1}',
      // The kubelet's times, from which the duration is taken; the summary's durationMs is the script's to set.
      startedAt: '2026-11-23T00:05:10.000Z',
      finishedAt: '2026-11-23T00:06:40.000Z',
    });
  });

  it.each([
    ['Unschedulable', true],
    ['ImagePullBackOff', true],
    ['ErrImagePull', true],
    ['CreateContainerConfigError', true],
    ['InvalidImageName', true],
    ['ContainerCreating', false],
  ])('treats %s as stuck: %s', (reason, stuck) => {
    expect(isStuck({ phase: 'pending', reason })).toBe(stuck);
  });

  it('never treats a queued Job as stuck, however long Kueue holds it', () => {
    expect(isStuck({ phase: 'queued', reason: 'Suspended' })).toBe(false);
  });
});

describe('parseSummary', () => {
  it.each([
    [
      'the runner summary',
      '{"v":1,"exitCode":0,"durationMs":12,"peakMemoryMb":80.5,"gpu":{"devices":[{"name":"H100","memoryUsedMb":10}]}}',
      true,
    ],
    ['nothing', undefined, false],
    ['not JSON (logs on error)', 'Traceback (most recent call last):', false],
    ['a wrong type', '{"exitCode":"zero"}', false],
    ['over 4 KiB', JSON.stringify({ error: 'x'.repeat(5000) }), false],
  ])('%s', (_name, message, ok) => {
    expect(parseSummary(message) !== undefined).toBe(ok);
  });
});

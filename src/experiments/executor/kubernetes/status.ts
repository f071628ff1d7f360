// What a Job and its pods say about an execution, reduced to one phase (pure, table-tested). Since 1.31 a
// Job is final only with Complete/Failed (after its pods terminated); FailureTarget/SuccessCriteriaMet
// come first and mean "decided".

export type JobPhase = 'queued' | 'pending' | 'running' | 'succeeded' | 'failed';

/** Waiting reasons the Job controller never fails on: without a timer of our own they wait forever. */
export const STUCK_REASONS = [
  'Unschedulable',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'InvalidImageName',
  'CreateContainerError',
];

export interface Observation {
  phase: JobPhase;
  /** Why it is where it is: a waiting reason, a failure reason (PodFailurePolicy, DeadlineExceeded …). */
  reason?: string;
  message?: string;
  podName?: string;
  node?: string;
  exitCode?: number;
  /** The container's termination message (the runner's JSON summary). */
  terminationMessage?: string;
  /** The container was killed for memory. */
  oomKilled?: boolean;
  startedAt?: string;
  /** When the container ended, as the kubelet recorded it (not as the runner says). */
  finishedAt?: string;
}

type Condition = { type?: string; status?: string; reason?: string; message?: string };
export interface JobLike {
  spec?: { suspend?: boolean };
  status?: { conditions?: Condition[]; active?: number; startTime?: string | Date };
}
export interface PodLike {
  metadata?: { name?: string; creationTimestamp?: string | Date };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: Condition[];
    containerStatuses?: Array<{
      name?: string;
      state?: {
        waiting?: { reason?: string; message?: string };
        running?: { startedAt?: string | Date };
        terminated?: {
          exitCode?: number;
          reason?: string;
          message?: string;
          startedAt?: string | Date;
          finishedAt?: string | Date;
        };
      };
    }>;
  };
}

const condition = (conds: Condition[] | undefined, type: string) =>
  conds?.find((c) => c.type === type && c.status === 'True');

const time = (t: string | Date | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

/** The newest pod of the Job (a replacement after a disruption is newer). */
export function latestPod(pods: PodLike[]): PodLike | undefined {
  return [...pods].sort(
    (a, b) =>
      new Date(b.metadata?.creationTimestamp ?? 0).getTime() - new Date(a.metadata?.creationTimestamp ?? 0).getTime(),
  )[0];
}

export function observe(job: JobLike, pods: PodLike[]): Observation {
  const pod = latestPod(pods);
  const container =
    pod?.status?.containerStatuses?.find((c) => c.name === 'runner') ?? pod?.status?.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  const podFacts: Partial<Observation> = {
    podName: pod?.metadata?.name,
    node: pod?.spec?.nodeName,
    ...(terminated
      ? {
          exitCode: terminated.exitCode,
          terminationMessage: terminated.message,
          oomKilled: terminated.reason === 'OOMKilled',
          startedAt: time(terminated.startedAt),
          finishedAt: time(terminated.finishedAt),
        }
      : {}),
    ...(container?.state?.running ? { startedAt: time(container.state.running.startedAt) } : {}),
  };
  const conds = job.status?.conditions;
  const complete = condition(conds, 'Complete');
  if (complete) return { ...podFacts, phase: 'succeeded' };
  const failed = condition(conds, 'Failed');
  if (failed) return { ...podFacts, phase: 'failed', reason: failed.reason, message: failed.message };
  if (job.spec?.suspend || condition(conds, 'Suspended')) return { ...podFacts, phase: 'queued', reason: 'Suspended' };
  if (!pod) return { phase: 'pending', reason: 'NoPodYet' };
  const waiting = container?.state?.waiting;
  if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing')
    return { ...podFacts, phase: 'pending', reason: waiting.reason, message: waiting.message };
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False')
    return { ...podFacts, phase: 'pending', reason: scheduled.reason ?? 'Unscheduled', message: scheduled.message };
  if (pod.status?.phase === 'Running' || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')
    return { ...podFacts, phase: 'running' };
  return { ...podFacts, phase: 'pending', reason: waiting?.reason ?? pod.status?.phase ?? 'Pending' };
}

/** A pending reason that no waiting will fix: the execution ends after the configured grace. */
export const isStuck = (o: Observation) =>
  o.phase === 'pending' && o.reason !== undefined && STUCK_REASONS.includes(o.reason);

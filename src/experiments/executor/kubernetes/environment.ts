// Makes sure a task's own environment exists on the cluster's environments volume before an experiment Job
// that needs it is created: one build Job per environment name (env-spec.ts), shared by every execution and
// every worker that asks at the same time (a second create finds the first Job). A finished build Job is
// proof enough until its TTL removes it; after that the next execution creates it again and the pod finds
// the environment ready in a second. A failed build is deleted once read, so a later execution tries again.
import { SandboxUnavailableError } from '../types';
import { buildEnvJob, envJobName, envName } from './env-spec';
import type { BuiltJob, JobSettings } from './job-spec';
import { pause } from './pause';
import { isStuck, observe, type JobLike, type Observation, type PodLike } from './status';

/** The part of the cluster (kubernetes.ts's JobCluster) a build needs. */
export interface EnvCluster {
  createJob(job: BuiltJob): Promise<unknown>;
  readJob(name: string): Promise<(JobLike & { metadata?: { deletionTimestamp?: string | Date } }) | undefined>;
  listPods(jobName: string): Promise<PodLike[]>;
  deleteJob(name: string): Promise<void>;
  podLog(podName: string, limitBytes: number): Promise<string>;
}

export interface EnsureEnvOptions {
  cluster: EnvCluster;
  settings: JobSettings;
  requirements: string;
  taskId: string;
  pollMs: number;
  pendingTimeoutMs: number;
  signal?: AbortSignal;
  /** Phases of the build as they change, for the run's events. */
  onPhase?: (o: Observation & { job: string }) => void;
}

/** Why a build failed: the builder's own error from its summary, else the end of its log, else the Job's reason. */
async function failureOf(o: Observation, cluster: EnsureEnvOptions['cluster']): Promise<string> {
  try {
    const summary = JSON.parse(o.terminationMessage ?? '') as { error?: unknown };
    if (typeof summary.error === 'string' && summary.error) return summary.error.slice(0, 2000);
  } catch {
    // not the builder's summary (it never started, or was killed)
  }
  const log = o.podName ? await cluster.podLog(o.podName, 4096).catch(() => '') : '';
  const tail = log.trim().split('\n').slice(-6).join(' | ');
  return [o.reason, o.message, tail].filter(Boolean).join(': ').slice(0, 2000) || 'no reason given';
}

/** The environment's name once it is built; throws SandboxUnavailableError when it cannot be. */
export async function ensureClusterEnv(o: EnsureEnvOptions): Promise<string> {
  const name = envName(o.requirements, o.settings.image);
  const job = buildEnvJob({ name, requirements: o.requirements, taskId: o.taskId }, o.settings);
  const jobId = envJobName(name);
  let last: Observation | undefined;
  let stuckSince: number | undefined;
  for (;;) {
    if (o.signal?.aborted) throw new Error(`stopped waiting for environment Job ${jobId}`);
    let current = await o.cluster.readJob(jobId);
    if (!current) {
      await o.cluster.createJob(job); // `exists` when another execution created it first: the same build
      current = await o.cluster.readJob(jobId);
    }
    // A failed build another worker is deleting: wait until it is gone, then create it anew.
    if (current && !current.metadata?.deletionTimestamp) {
      const seen = observe(current, await o.cluster.listPods(jobId));
      if (seen.phase !== last?.phase || seen.reason !== last?.reason) o.onPhase?.({ ...seen, job: jobId });
      last = seen;
      if (seen.phase === 'succeeded') return name;
      if (seen.phase === 'failed') {
        const why = await failureOf(seen, o.cluster);
        await o.cluster.deleteJob(jobId).catch(() => undefined);
        throw new SandboxUnavailableError(`the environment of task ${o.taskId} could not be built: ${why}`);
      }
      stuckSince = isStuck(seen) ? (stuckSince ?? Date.now()) : undefined;
      if (stuckSince !== undefined && Date.now() - stuckSince > o.pendingTimeoutMs) {
        await o.cluster.deleteJob(jobId).catch(() => undefined);
        throw new SandboxUnavailableError(
          `the environment of task ${o.taskId} could not be built: its Job could not start: ${seen.reason}` +
            (seen.message ? `: ${seen.message}` : ''),
        );
      }
    }
    await pause(o.pollMs, o.signal);
  }
}

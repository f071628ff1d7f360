// The Kubernetes backend: each execution is a Job running the runner (runner/runner.py) on the cluster.
// Code goes in as a tarball behind a presigned GET URL, the log and the workspace come back through
// presigned PUT URLs, a ≤ 4 KiB summary through the termination message; the worker scores the returned
// outputs with the trusted eval.py, exactly as the local backend does. The Job's name derives from the
// execution key, so a retried activity re-attaches to its Job instead of starting a second one.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { ArtifactStore } from '../artifacts';
import { clearOutputs } from '../workspace';
import { envJobName, envName } from './kubernetes/env-spec';
import { ensureClusterEnv } from './kubernetes/environment';
import { pause } from './kubernetes/pause';
import {
  ANNOTATION_SPEC_HASH,
  buildJob,
  jobName,
  reissueEveryMs,
  transferTtlSeconds,
  type BuiltJob,
  type JobSettings,
} from './kubernetes/job-spec';
import { isStuck, latestPod, observe, type JobLike, type Observation, type PodLike } from './kubernetes/status';
import type { Isolate } from '../../domain/isolate';
import { scoreExecution } from './measure';
import { scanTar, TarRefused } from './tar-scan';
import {
  SandboxUnavailableError,
  type ExecutionInputs,
  type ExecutionResult,
  type ExecutionSpec,
  type Executor,
} from './types';

const execFileP = promisify(execFile);

export interface ClusterJob extends JobLike {
  metadata?: {
    name?: string;
    uid?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    deletionTimestamp?: string | Date;
  };
}

/** What the backend needs from the Kubernetes API, in the experiments namespace; clients/kubernetes.ts. */
export interface JobCluster {
  /** Creates the Job; `exists` when a Job of that name is already there (a retry). */
  createJob(job: BuiltJob): Promise<{ uid: string } | { exists: true }>;
  readJob(name: string): Promise<ClusterJob | undefined>;
  listPods(jobName: string): Promise<PodLike[]>;
  /** Deletes the Job and its pods (propagation Background); gone already is fine. */
  deleteJob(name: string): Promise<void>;
  /** A Secret of string values, owned by the Job when its uid is given (deleted with it). */
  createSecret(name: string, data: Record<string, string>, owner?: { name: string; uid: string }): Promise<void>;
  setSecretOwner(name: string, owner: { name: string; uid: string }): Promise<void>;
  /** The last bytes of the pod's log (the fallback when the runner could not upload its own). */
  podLog(podName: string, limitBytes: number): Promise<string>;
  /** Managed Jobs with their run label, for the reaper. */
  listManagedJobs(): Promise<Array<{ name: string; runId: string }>>;
}

/** Objects the pod reaches by presigned URL; clients/s3.ts. */
export interface TransferStore {
  put(key: string, body: Buffer): Promise<void>;
  /** The object, or undefined when there is none; throws TooLargeError past `maxBytes` without reading it. */
  get(key: string, maxBytes?: number): Promise<Buffer | undefined>;
  /**
   * Streams the object into `file` (false when there is none), counting what arrives: past `maxBytes` it
   * stops, removes the file and throws TooLargeError, whatever the object's length claimed.
   */
  download(key: string, file: string, maxBytes: number): Promise<boolean>;
  presignGet(key: string, ttlSeconds: number): Promise<string>;
  presignPut(key: string, ttlSeconds: number): Promise<string>;
  remove(keys: string[]): Promise<void>;
}

export interface KubernetesExecutorOptions {
  cluster: JobCluster;
  transfer: TransferStore;
  inputs: ExecutionInputs;
  store: ArtifactStore;
  python: string;
  settings: JobSettings;
  scratchDir: string;
  /** How often the Job is read while it runs. */
  pollMs: number;
  /** How long a pod may wait on a reason no waiting fixes (Unschedulable, ImagePullBackOff …). */
  pendingTimeoutMs: number;
  /**
   * Experiment pods were seen to reach nothing but the object store: the start-up canary (canary.ts) failed
   * to get out under the namespace's NetworkPolicy. Recorded on every execution.
   */
  networkIsolated: boolean;
  /** Most a pod may send back as its workspace: the tarball, and the files it unpacks to. */
  maxReturnBytes: number;
  /** Most of a pod's log that is read back (the runner keeps its head and tail within this). */
  maxLogBytes: number;
  /** The sandbox the worker scores returned outputs in (scoringIsolation); none: as the worker. */
  isolate?: Isolate;
  /** Phases as they change, for the run's events. */
  onPhase?: (spec: ExecutionSpec, o: Observation & { job: string }) => void;
}

const summarySchema = z
  .object({
    exitCode: z.number().int().optional(),
    timedOut: z.boolean().optional(),
    durationMs: z.number().nonnegative().optional(),
    peakMemoryMb: z.number().nonnegative().optional(),
    phase: z.string().max(40).optional(),
    error: z.string().max(2000).optional(),
    gpu: z
      .object({
        devices: z
          .array(z.object({ name: z.string().max(200) }).catchall(z.number()))
          .max(16)
          .optional(),
      })
      .optional(),
  })
  .passthrough();
export type RunnerSummary = z.infer<typeof summarySchema>;

/** The runner's summary from the termination message, or undefined when it is missing or malformed. */
export function parseSummary(message: string | undefined): RunnerSummary | undefined {
  if (!message || message.length > 4096) return undefined;
  try {
    const parsed = summarySchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** An object bigger than the caller would read. */
export class TooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TooLargeError';
  }
}

/**
 * Extracts a workspace a pod sent back (the gzipped tar in `file`), which is hostile: every header is read
 * first (scanTar), and the archive refused whole when a member is a link, a device, a FIFO, a sparse file or
 * a path that climbs out, or when its files add up to more than `maxBytes`, so what it unpacks to on disk is
 * at most that. GNU tar then unpacks it; afterwards only regular files and folders survive.
 */
export async function extract(file: string, dest: string, maxBytes: number): Promise<void> {
  try {
    await scanTar(fs.createReadStream(file), maxBytes);
  } catch (err) {
    if (err instanceof TarRefused && err.tooLarge) throw new TooLargeError(err.message);
    throw err;
  }
  await fs.promises.mkdir(dest, { recursive: true });
  try {
    await execFileP('tar', [
      '-xzf',
      file,
      '-C',
      dest,
      '--no-same-owner',
      '--no-same-permissions',
      '--no-overwrite-dir',
    ]);
  } finally {
    // Whatever tar managed or refused, nothing but regular files and folders stays, and the worker can open
    // all of them: an archive's folder of mode 0644 or 000 would otherwise lock a non-root worker out of its
    // own copy (to read, to sync back, to remove).
    const prune = async (dir: string): Promise<void> => {
      const own = async (p: string, bits: number) => {
        const st = await fs.promises.lstat(p);
        if ((st.mode & bits) !== bits) await fs.promises.chmod(p, (st.mode & 0o777) | bits);
      };
      await own(dir, 0o700);
      for (const e of await fs.promises.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await prune(p);
        else if (e.isFile()) await own(p, 0o600);
        else await fs.promises.rm(p, { force: true });
      }
    };
    await prune(dest);
  }
}

async function pack(dir: string): Promise<Buffer> {
  const { stdout } = await execFileP('tar', ['-czf', '-', '-C', dir, '.'], {
    encoding: 'buffer',
    maxBuffer: 2 * 1024 * 1024 * 1024,
  });
  return stdout;
}

/** Copies regular files from `from` over `to` (the agent's live workspace after its script ran remotely). */
async function syncBack(from: string, to: string): Promise<void> {
  for (const e of await fs.promises.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    const st = await fs.promises.lstat(dst).catch(() => undefined);
    if (st?.isSymbolicLink()) continue;
    if (e.isDirectory()) {
      if (st && !st.isDirectory()) continue;
      await fs.promises.mkdir(dst, { recursive: true });
      await syncBack(src, dst);
    } else if (e.isFile() && (!st || st.isFile())) {
      await fs.promises.copyFile(src, dst);
    }
  }
}

export function createKubernetesExecutor(opts: KubernetesExecutorOptions): Executor {
  fs.mkdirSync(opts.scratchDir, { recursive: true, mode: 0o700 });
  /** Presigns the Job's transfers into its Secret (owned by the Job once it exists): at launch, and again while queued. */
  async function issueUrls(spec: ExecutionSpec, name: string, owner?: { name: string; uid: string }) {
    const prefix = `executions/${name}`;
    const ttl = transferTtlSeconds(spec.timeoutMs, opts.settings);
    const urls = {
      MLR_INPUT_URL: await opts.transfer.presignGet(`${prefix}/input.tgz`, ttl),
      MLR_OUTPUT_URL: await opts.transfer.presignPut(`${prefix}/output.tgz`, ttl),
      MLR_LOG_URL: await opts.transfer.presignPut(`${prefix}/log.txt`, ttl),
    };
    await opts.cluster.createSecret(name, urls, owner);
  }

  async function launch(spec: ExecutionSpec, name: string, job: BuiltJob): Promise<void> {
    const prefix = `executions/${name}`;
    let dir: string;
    let temp: string | undefined;
    if (spec.workspace.kind === 'snapshot') {
      temp = await fs.promises.mkdtemp(path.join(opts.scratchDir, `${name}-in-`));
      dir = temp;
      await opts.inputs.materialize(spec.workspace, dir);
    } else {
      dir = opts.inputs.liveWorkspace(spec.workspace);
    }
    await clearOutputs(dir);
    try {
      await opts.transfer.put(`${prefix}/input.tgz`, await pack(dir));
    } finally {
      if (temp) await fs.promises.rm(temp, { recursive: true, force: true });
    }
    await issueUrls(spec, name);
    const created = await opts.cluster.createJob(job);
    if ('uid' in created) await opts.cluster.setSecretOwner(name, { name, uid: created.uid });
  }

  return {
    name: 'kubernetes',
    async execute(spec): Promise<ExecutionResult> {
      const started = Date.now();
      const task = await opts.inputs.task(spec.workspace.taskId);
      const name = jobName(spec.key);
      // A task with its own requirements runs in a venv built on the cluster (once per requirements and image)
      // into the environments volume; the worker's own copy of it (task.python) still prepares and scores.
      if (task.requirements && !opts.settings.environments)
        throw new SandboxUnavailableError(
          `task ${spec.workspace.taskId} declares its own requirements, and this cluster has no environments ` +
            'volume: set MLR_K8S_ENVS_CLAIM to a ReadWriteMany PersistentVolumeClaim, or run it with executor "local"',
        );
      // Not yet on a cluster: the Job pod has no egress, and the build pod does not fetch Hub repositories into the
      // environments volume. A clear refusal beats an experiment that fails offline on a model it cannot find.
      if (await opts.inputs.fetchedFromHub?.(spec.workspace.runId))
        throw new SandboxUnavailableError(
          `run ${spec.workspace.runId} fetched models or datasets from the Hub, which Kubernetes executions cannot ` +
            'read yet: run it with executor "local"',
        );
      if (task.datasetsCache)
        throw new SandboxUnavailableError(
          `task ${spec.workspace.taskId} loads Hub datasets, which are prepared on the worker and not yet on the ` +
            'environments volume: run it with executor "local"',
        );
      const environment = task.requirements ? envName(task.requirements, opts.settings.image) : undefined;
      const job = buildJob(
        {
          key: spec.key,
          runId: spec.workspace.runId,
          role: spec.workspace.kind === 'live' ? 'agent' : 'measured',
          script: spec.script,
          seed: spec.seed,
          timeoutMs: spec.timeoutMs,
          resources: spec.resources,
          secretName: name,
          ...(environment ? { environment } : {}),
        },
        opts.settings,
      );
      const hash = job.metadata.annotations[ANNOTATION_SPEC_HASH];
      // A retry finds the Job its first attempt created: the same spec re-attaches, another is a collision.
      const existing = await opts.cluster.readJob(name);
      /** When this attempt last presigned the Job's URLs; 0: not this attempt (a Job it re-attached to). */
      let issuedAt = 0;
      if (existing && existing.metadata?.annotations?.[ANNOTATION_SPEC_HASH] !== hash)
        throw new SandboxUnavailableError(`Job ${name} exists with a different spec (name collision)`);
      if (!existing) {
        // A retry that finds its Job needs no build: the environment was there when the Job was created.
        if (task.requirements) {
          try {
            await ensureClusterEnv({
              cluster: opts.cluster,
              settings: opts.settings,
              requirements: task.requirements,
              taskId: spec.workspace.taskId,
              pollMs: opts.pollMs,
              pendingTimeoutMs: opts.pendingTimeoutMs,
              signal: spec.signal,
              onPhase: (o) => opts.onPhase?.(spec, o),
            });
          } catch (err) {
            // Cancelled while the build ran: the build goes on for others; this execution ends as cancelled.
            if (spec.signal?.aborted && (spec.abortMode?.() ?? 'cancel') === 'cancel')
              return collect(spec, task, name, undefined, 'cancelled', { started, queuedMs: 0 });
            throw err;
          }
        }
        await launch(spec, name, job);
        issuedAt = Date.now();
      }
      let last: Observation | undefined;
      let stuckSince: number | undefined;
      let queuedMs = 0;
      let queuedSince: number | undefined;
      let ended: 'cancelled' | 'stuck' | 'gone' | undefined;
      for (;;) {
        if (spec.signal?.aborted) {
          if ((spec.abortMode?.() ?? 'cancel') === 'cancel') {
            await opts.cluster.deleteJob(name).catch(() => undefined);
            ended = 'cancelled';
            break;
          }
          throw new Error(`left Job ${name} running for the next attempt`);
        }
        const current = await opts.cluster.readJob(name);
        if (!current) {
          ended = 'gone';
          break;
        }
        const o = observe(current, await opts.cluster.listPods(name));
        if (o.phase !== last?.phase || o.reason !== last?.reason) opts.onPhase?.(spec, { ...o, job: name });
        if (o.phase === 'queued') queuedSince ??= Date.now();
        else if (queuedSince !== undefined) {
          queuedMs += Date.now() - queuedSince;
          queuedSince = undefined;
        }
        // Still suspended: fresh URLs before the old ones could expire under the Job once admitted. A worker that
        // took the Job over does not know when they were issued, so it issues them at once.
        if (o.phase === 'queued' && current.metadata?.uid && Date.now() - issuedAt >= reissueEveryMs(opts.settings)) {
          await issueUrls(spec, name, { name, uid: current.metadata.uid });
          issuedAt = Date.now();
        }
        stuckSince = isStuck(o) ? (stuckSince ?? Date.now()) : undefined;
        last = o;
        spec.onProgress?.({ job: name, uid: current.metadata?.uid, phase: o.phase });
        if (o.phase === 'succeeded' || o.phase === 'failed') break;
        if (stuckSince !== undefined && Date.now() - stuckSince > opts.pendingTimeoutMs) {
          await opts.cluster.deleteJob(name).catch(() => undefined);
          ended = 'stuck';
          break;
        }
        await pause(opts.pollMs, spec.signal);
      }
      const result = await collect(spec, task, name, last, ended, { started, queuedMs });
      // The environment went missing from the volume behind its finished build Job: delete the Job, so the next
      // execution builds it again instead of trusting the Job until its TTL.
      if (environment && parseSummary(last?.terminationMessage)?.phase === 'environment')
        await opts.cluster.deleteJob(envJobName(environment)).catch(() => undefined);
      return result;
    },
  };

  async function collect(
    spec: ExecutionSpec,
    task: Awaited<ReturnType<ExecutionInputs['task']>>,
    name: string,
    o: Observation | undefined,
    ended: 'cancelled' | 'stuck' | 'gone' | undefined,
    t: { started: number; queuedMs: number },
  ): Promise<ExecutionResult> {
    const prefix = `executions/${name}`;
    const summary = parseSummary(o?.terminationMessage);
    const logGot = await opts.transfer.get(`${prefix}/log.txt`, opts.maxLogBytes).catch((err: unknown) => {
      if (err instanceof TooLargeError) return err;
      throw err;
    });
    let logBytes =
      logGot instanceof TooLargeError ? Buffer.from(`[the log was not read: ${logGot.message}]\n`) : logGot;
    if (!logBytes && o?.podName)
      logBytes = Buffer.from(await opts.cluster.podLog(o.podName, 256 * 1024).catch(() => ''));
    const log = await opts.store.put(spec.logKey, logBytes ?? Buffer.alloc(0));
    const logTail = (logBytes ?? Buffer.alloc(0)).subarray(-8192).toString('utf8');
    const placement = {
      job: name,
      node: o?.node,
      gpu: summary?.gpu?.devices?.[0]?.name,
      queuedMs: t.queuedMs,
      startedAt: o?.startedAt,
    };
    // The runner's summary is the script's to influence: what is billed (and a timing task's score) is the
    // container's run time as the kubelet recorded it, or the time this worker watched it, never the summary's.
    const podMs = o?.startedAt && o.finishedAt ? Date.parse(o.finishedAt) - Date.parse(o.startedAt) : NaN;
    const base = {
      exitCode: o?.exitCode ?? summary?.exitCode ?? null,
      durationMs: Number.isFinite(podMs) && podMs >= 0 ? podMs : Date.now() - t.started,
      peakMemoryMb: summary?.peakMemoryMb ?? null,
      logTail,
      log,
      networkIsolated: opts.networkIsolated,
      sandbox: 'pod' as const,
      backend: 'kubernetes',
      readOnlyViolations: [] as string[],
      placement,
    };
    const fail = (status: ExecutionResult['status'], error: string): ExecutionResult => ({
      ...base,
      status,
      metrics: null,
      error,
    });
    const cleanup = () => opts.transfer.remove(['input.tgz', 'output.tgz', 'log.txt'].map((f) => `${prefix}/${f}`));
    if (ended === 'cancelled') return fail('cancelled', 'cancelled');
    if (ended === 'gone') return fail('failed', `Job ${name} was deleted before it finished`);
    if (ended === 'stuck')
      return fail('failed', `the Job could not start: ${o?.reason}${o?.message ? `: ${o.message}` : ''}`);
    const dir = await fs.promises.mkdtemp(path.join(opts.scratchDir, `${name}-out-`));
    const tarball = `${dir}.tgz`;
    let outputs: boolean | TooLargeError;
    try {
      outputs = await opts.transfer.download(`${prefix}/output.tgz`, tarball, opts.maxReturnBytes).catch((err) => {
        if (err instanceof TooLargeError) return err;
        throw err;
      });
    } catch (err) {
      await fs.promises.rm(dir, { recursive: true, force: true });
      throw err;
    }
    if (outputs instanceof TooLargeError || !outputs || !summary) {
      await Promise.all([fs.promises.rm(dir, { recursive: true }), fs.promises.rm(tarball, { force: true })]);
      await cleanup().catch(() => undefined);
      if (outputs instanceof TooLargeError) return fail('failed', outputs.message);
      if (o?.reason === 'DeadlineExceeded') return fail('timeout', `the Job passed its deadline (${o.message ?? ''})`);
      const memory = o?.oomKilled ? ` (memory limit ${spec.resources.memoryMb} MB)` : '';
      const why = summary?.error ?? o?.message ?? o?.reason ?? 'no summary from the runner';
      return fail('failed', `the runner did not finish: ${why}${memory}`);
    }
    try {
      try {
        await extract(tarball, dir, opts.maxReturnBytes);
      } catch (err) {
        return fail('failed', `the returned workspace was refused: ${(err as Error).message}`);
      } finally {
        await fs.promises.rm(tarball, { force: true });
      }
      if (spec.workspace.kind === 'live') await syncBack(dir, opts.inputs.liveWorkspace(spec.workspace));
      if (summary.timedOut) return fail('timeout', `timed out after ${spec.timeoutMs} ms`);
      const scored = await scoreExecution({
        // eval.py may need the task's own packages: the worker's build of the same requirements.
        python: task.python ?? opts.python,
        task,
        workspaceDir: dir,
        scoringDir: `${dir}-scoring`,
        metricName: spec.metricName,
        exitCode: base.exitCode,
        memoryNote: o?.oomKilled ? ` (memory limit ${spec.resources.memoryMb} MB)` : '',
        durationMs: base.durationMs,
        isolate: opts.isolate,
      });
      return { ...base, ...scored };
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
      await cleanup().catch(() => undefined);
    }
  }
}

/** Deletes managed Jobs whose run is closed; returns their names. Runs at worker start and on a timer. */
export async function reapJobs(cluster: JobCluster, isRunOpen: (runId: string) => Promise<boolean>): Promise<string[]> {
  const reaped: string[] = [];
  for (const j of await cluster.listManagedJobs()) {
    if (await isRunOpen(j.runId)) continue;
    await cluster.deleteJob(j.name);
    reaped.push(j.name);
  }
  return reaped;
}

/** The log of an execution's pod while it runs (the tail, at most `limitBytes`), or undefined without a pod. */
export async function liveLog(cluster: JobCluster, key: string, limitBytes = 256 * 1024): Promise<string | undefined> {
  const pod = latestPod(await cluster.listPods(jobName(key)));
  if (!pod?.metadata?.name) return undefined;
  return cluster.podLog(pod.metadata.name, limitBytes).catch(() => undefined);
}

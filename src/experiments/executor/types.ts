// The executor contract: what the workflow needs from any backend that runs an experiment script. A spec
// names what to run by reference (a stored snapshot, or the run's live workspace) and the resources it
// needs, never by a host path, so a backend on another machine (a Kubernetes Job) can run the same spec.
// Each backend resolves references through ExecutionInputs, copies the code in, brings the outputs back and
// has them scored by the task's eval.py from where the experiment cannot write.
import type { HubView } from '../../domain/hub';
import type { StoredArtifact } from '../artifacts';

export type ExecutionStatus = 'succeeded' | 'failed' | 'timeout' | 'cancelled';

export interface Resources {
  /** CPUs' worth of time; undefined leaves it to the backend's default. */
  cpu?: number;
  memoryMb: number;
  gpus: number;
  /** A GPU model the backend should select (a node label on Kubernetes); undefined takes any. */
  gpuType?: string;
}

/** Code that a measured execution runs: exactly a stored snapshot, in a fresh copy of the prepared task. */
export interface SnapshotRef {
  kind: 'snapshot';
  runId: string;
  taskId: string;
  codeHash: string;
}

/** The run's live workspace: the agent's own tries, whose files the agent reads back afterwards. */
export interface LiveWorkspaceRef {
  kind: 'live';
  runId: string;
  taskId: string;
}

export type WorkspaceRef = SnapshotRef | LiveWorkspaceRef;

export interface ExecutionSpec {
  /** The backend a run asked for (`local`, `kubernetes`); unset: the service's default (MLR_EXECUTOR). */
  backend?: string;
  /** The logical execution (stable across activity retries): a retry finds what an earlier attempt left. */
  key: string;
  workspace: WorkspaceRef;
  script: string;
  seed: number;
  timeoutMs: number;
  resources: Resources;
  metricName: string;
  /** Artifact key for the full log. */
  logKey: string;
  signal?: AbortSignal;
  /**
   * Asked when `signal` aborts: `cancel` stops the execution; `detach` leaves a remote one running for the
   * next attempt to re-attach to (a worker shutting down, an activity timing out). Default: cancel.
   */
  abortMode?: () => 'cancel' | 'detach';
  /** Called while it runs (heartbeats), with what a retry needs to find it again. */
  onProgress?: (details?: Record<string, unknown>) => void;
}

/** Where a remote execution ran (Kubernetes): recorded with it. */
export interface Placement {
  job: string;
  node?: string;
  gpu?: string;
  queuedMs: number;
  startedAt?: string;
}

export interface ExecutionResult {
  status: ExecutionStatus;
  exitCode: number | null;
  durationMs: number;
  peakMemoryMb: number | null;
  /** The metric measured by eval.py, plus what the script reported in metrics.json (never trusted as the result). */
  metrics: { [metric: string]: number | Record<string, unknown> } | null;
  error?: string;
  logTail: string;
  log: StoredArtifact;
  networkIsolated: boolean;
  /**
   * How the execution was isolated: `bwrap`, `none` where the operator opted out (MLR_SANDBOX=none), or
   * `pod` (a restricted Kubernetes pod).
   */
  sandbox: 'bwrap' | 'none' | 'pod';
  /** The backend that ran it. */
  backend: string;
  placement?: Placement;
  /** Read-only files of the task (its data, eval helpers) that the execution changed: its result is void. */
  readOnlyViolations: string[];
}

/** The prepared task as the harness holds it: trusted, outside every workspace. */
export interface TrustedTask {
  /** The starter env (data and code) every copy starts from. */
  envDir: string;
  /** Where eval.py lives; the experiment never sees it. */
  scriptsDir: string;
  readOnlyPatterns: string[];
  /** Scores at or below this are the eval script's "invalid submission" sentinel (upstream tasks: 0). */
  invalidAtOrBelow?: number;
  /** The task's own interpreter (a venv of its declared requirements); unset: the executor's own. */
  python?: string;
  /** The requirements that venv was built from (normalised): a remote backend builds its own from them. */
  requirements?: string;
  /** `duration`: the metric is the measured wall time in seconds (eval.py still has to accept the outputs). */
  scoreBy?: 'eval' | 'duration';
  /** The prepared `datasets` cache of the Hub datasets the task's code loads by id (read-only, offline). */
  datasetsCache?: string;
}

/** What a backend needs from the service to turn references into files; implemented over Postgres and the store. */
export interface ExecutionInputs {
  /**
   * Writes exactly the snapshot into `dir` (emptied first): the prepared env, checked against its recorded
   * hash, with the snapshot's code over it and no other code.
   */
  materialize(ref: SnapshotRef, dir: string): Promise<void>;
  /** The live workspace's folder on the worker's machine. */
  liveWorkspace(ref: LiveWorkspaceRef): string;
  task(taskId: string): Promise<TrustedTask>;
  /**
   * The Hub repositories the run fetched, present in this machine's cache (read-only to the experiment, offline),
   * or undefined when it fetched none. Absent: the backend offers no Hub cache.
   */
  hub?(runId: string): Promise<HubView | undefined>;
  /** Whether the run fetched any Hub repository (without putting them in this machine's cache). */
  fetchedFromHub?(runId: string): Promise<boolean>;
}

/** Isolation was asked for and this host cannot provide it: the execution is refused, not run bare. */
export class SandboxUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxUnavailableError';
  }
}

/** The prepared task no longer matches the hash recorded when it was prepared: nothing is measured on it. */
export class TamperedTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TamperedTaskError';
  }
}

export interface Executor {
  /** Which backend this is, recorded on every execution (`local`, `kubernetes`). */
  readonly name: string;
  execute(spec: ExecutionSpec): Promise<ExecutionResult>;
}

/** Sends each spec to the backend it asks for, or to the default one; an unknown backend is refused. */
export function createRoutingExecutor(fallback: Executor, backends: Executor[]): Executor {
  const byName = new Map([fallback, ...backends].map((b) => [b.name, b]));
  return {
    name: fallback.name,
    execute(spec) {
      const backend = spec.backend === undefined ? fallback : byName.get(spec.backend);
      if (!backend) throw new SandboxUnavailableError(`the ${spec.backend} executor is not enabled on this worker`);
      return backend.execute(spec);
    },
  };
}

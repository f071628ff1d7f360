// The executor contract: what the workflow needs from any backend that runs an experiment script. The
// local backend (local.ts) runs processes on the worker's machine; others implement the same interface.
import type { StoredArtifact } from '../artifacts';

export type ExecutionStatus = 'succeeded' | 'failed' | 'timeout' | 'cancelled';

export interface ExecutionSpec {
  workspaceDir: string;
  script: string;
  seed: number;
  timeoutMs: number;
  memoryMb: number;
  /** The prepared task's scripts/ folder: eval.py's get_score measures the run from outside the workspace. */
  scriptsDir: string;
  metricName: string;
  /** Artifact key for the full log. */
  logKey: string;
  signal?: AbortSignal;
  onProgress?: () => void;
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
  /** How the execution was isolated: `bwrap`, or `none` where the operator opted out (MLR_SANDBOX=none). */
  sandbox: 'bwrap' | 'none';
}

/** Isolation was asked for and this host cannot provide it: the execution is refused, not run bare. */
export class SandboxUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxUnavailableError';
  }
}

export interface Executor {
  execute(spec: ExecutionSpec): Promise<ExecutionResult>;
}

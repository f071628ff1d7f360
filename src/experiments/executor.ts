// Runs experiment scripts. The local executor (the embedded default) runs `python <script>` in the
// workspace in its own process group, with a wall-clock timeout, an address-space limit, no network
// where the OS allows it, and an environment that carries no secrets.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ArtifactStore, StoredArtifact } from './artifacts';

const execFileP = promisify(execFile);
const LOG_TAIL_BYTES = 8 * 1024;

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
  /** The task metric measured by eval.py, plus what the script reported in metrics.json (never trusted as the result). */
  metrics: { [metric: string]: number | Record<string, unknown> } | null;
  error?: string;
  logTail: string;
  log: StoredArtifact;
  networkIsolated: boolean;
}

/** What the workflow needs from any executor: local processes now, Kubernetes Jobs later. */
export interface Executor {
  execute(spec: ExecutionSpec): Promise<ExecutionResult>;
}

/** `unshare -n` (root) or `unshare -rn` (user namespaces): whichever this OS allows, or none. */
export async function detectNetworkIsolation(): Promise<string[]> {
  for (const prefix of [
    ['unshare', '-n'],
    ['unshare', '-rn'],
  ]) {
    try {
      await execFileP(prefix[0]!, [...prefix.slice(1), 'true'], { timeout: 5000 });
      return prefix;
    } catch {
      // not permitted here; try the next
    }
  }
  return [];
}

export interface LocalExecutorOptions {
  python: string;
  sandboxScript: string;
  store: ArtifactStore;
  /** Result of detectNetworkIsolation(); [] runs with the network. */
  isolationPrefix: string[];
}

function scrubbedEnv(python: string, workspaceDir: string, seed: number): NodeJS.ProcessEnv {
  // Built from nothing, not filtered from process.env: secrets (OPENAI_API_KEY, DATABASE_URL, …) cannot leak.
  const home = path.join(workspaceDir, '.mlr', 'home');
  fs.mkdirSync(home, { recursive: true });
  return {
    PATH: `${path.dirname(python)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    TMPDIR: home,
    LANG: 'C.UTF-8',
    MLR_SEED: String(seed),
    PYTHONHASHSEED: String(seed),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

export function createLocalExecutor(opts: LocalExecutorOptions): Executor {
  return {
    async execute(spec) {
      const started = Date.now();
      const internal = path.join(spec.workspaceDir, '.mlr');
      fs.mkdirSync(internal, { recursive: true });
      const resultFile = path.join(internal, `result-${process.pid}-${started}.json`);
      // A worker that died mid-execution leaves its experiment running in its own process group; stop
      // it before the retry runs, so two executions never write the same workspace.
      const pidFile = path.join(internal, 'running.pgid');
      if (fs.existsSync(pidFile)) {
        const stale = Number(fs.readFileSync(pidFile, 'utf8'));
        if (Number.isInteger(stale) && stale > 0) {
          try {
            process.kill(-stale, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      const command = [
        ...opts.isolationPrefix,
        opts.python,
        opts.sandboxScript,
        resultFile,
        String(spec.memoryMb),
        '--',
        opts.python,
        '-u',
        spec.script,
      ];
      const child = spawn(command[0]!, command.slice(1), {
        cwd: spec.workspaceDir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: scrubbedEnv(opts.python, spec.workspaceDir, spec.seed),
      });
      if (child.pid) fs.writeFileSync(pidFile, String(child.pid));
      const chunks: Buffer[] = [];
      let size = 0;
      const collect = (d: Buffer) => {
        chunks.push(d);
        size += d.length;
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      let ended: ExecutionStatus | undefined;
      const killTree = (why: ExecutionStatus) => {
        ended ??= why;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      };
      const timer = setTimeout(() => killTree('timeout'), spec.timeoutMs);
      const progress = setInterval(() => spec.onProgress?.(), 2000);
      const onAbort = () => killTree('cancelled');
      spec.signal?.addEventListener('abort', onAbort);
      if (spec.signal?.aborted) onAbort();
      const exitCode = await new Promise<number | null>((resolve) => {
        child.once('error', () => resolve(null));
        child.once('close', (code) => resolve(code));
      });
      clearTimeout(timer);
      clearInterval(progress);
      spec.signal?.removeEventListener('abort', onAbort);
      fs.rmSync(pidFile, { force: true });

      const logText = Buffer.concat(chunks, size);
      const log = await opts.store.put(spec.logKey, logText);
      const logTail = logText.subarray(Math.max(0, logText.length - LOG_TAIL_BYTES)).toString('utf8');
      let peakMemoryMb: number | null = null;
      try {
        peakMemoryMb = (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { peakMemoryMb: number }).peakMemoryMb;
        fs.rmSync(resultFile);
      } catch {
        // killed before the sandbox could report
      }
      const base = {
        exitCode,
        durationMs: Date.now() - started,
        peakMemoryMb,
        logTail,
        log,
        networkIsolated: opts.isolationPrefix.length > 0,
      };
      if (ended === 'timeout')
        return { ...base, status: 'timeout', metrics: null, error: `timed out after ${spec.timeoutMs} ms` };
      if (ended === 'cancelled') return { ...base, status: 'cancelled', metrics: null, error: 'cancelled' };
      if (exitCode !== 0) {
        const memory = /MemoryError|Cannot allocate memory/.test(logTail) ? ` (memory limit ${spec.memoryMb} MB)` : '';
        return { ...base, status: 'failed', metrics: null, error: `exit code ${exitCode}${memory}` };
      }
      try {
        const metrics = await measure(opts.python, spec);
        return { ...base, status: 'succeeded', metrics };
      } catch (err) {
        return { ...base, status: 'failed', metrics: null, error: `missing metric: ${(err as Error).message}` };
      }
    },
  };
}

const EVAL = `import json, sys
sys.path.insert(0, ".")
import eval as task_eval
print(json.dumps(float(task_eval.get_score(sys.argv[1]))))`;

/** The task's own eval.py scores the run from outside the workspace; metrics.json is kept as reported. */
async function measure(python: string, spec: ExecutionSpec): Promise<NonNullable<ExecutionResult['metrics']>> {
  let stdout: string;
  try {
    ({ stdout } = await execFileP(python, ['-c', EVAL, spec.workspaceDir], {
      cwd: spec.scriptsDir,
      timeout: 120_000,
      env: { PATH: `${path.dirname(python)}:/usr/bin:/bin`, LANG: 'C.UTF-8' },
    }));
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    throw new Error(stderr || (err as Error).message);
  }
  const score = Number(JSON.parse(stdout.trim()));
  if (!Number.isFinite(score)) throw new Error(`eval.py returned ${stdout.trim()}`);
  const metrics: NonNullable<ExecutionResult['metrics']> = { [spec.metricName]: score };
  const reportedFile = path.join(spec.workspaceDir, 'metrics.json');
  if (fs.existsSync(reportedFile)) {
    try {
      metrics.reported = JSON.parse(fs.readFileSync(reportedFile, 'utf8')) as Record<string, unknown>;
    } catch {
      metrics.reported = { error: 'metrics.json is not valid JSON' };
    }
  }
  return metrics;
}

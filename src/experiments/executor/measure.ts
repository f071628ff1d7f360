// Scoring an execution: the task's own eval.py measures the outputs from outside the workspace, and what
// the script reported in metrics.json is read with every precaution a hostile workspace calls for.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { MEASURED_OUTPUTS, Workspace } from '../workspace';
import { offlineDatasetsEnv } from '../../domain/hub';
import { withEnv, type Isolate } from '../../domain/isolate';
import type { ExecutionResult, TrustedTask } from './types';

/** The error prefix of an execution that changed the task's read-only files: its result is void. */
export const READ_ONLY_VIOLATION = 'read-only files changed';

const execFileP = promisify(execFile);

/** Gives `datasets` a writable view of a read-only cache (the task's prepared Hub datasets). */
const VIEW_SCRIPT = path.resolve(__dirname, '../../../scripts/with_datasets.py');

/** Largest metrics.json read back; a bigger one is reported as such, not read. */
export const MAX_REPORTED_BYTES = 1024 * 1024;

/**
 * Reads a file the experiment wrote without trusting it: it must be a regular file (not a FIFO that
 * would block, nor a symlink pointing outside) with one link, at most `maxBytes`, opened
 * O_NOFOLLOW|O_NONBLOCK and read asynchronously. Returns the reason instead of the content when refused.
 */
export async function readUntrusted(file: string, maxBytes: number): Promise<{ text?: string; refused?: string }> {
  const read = await readUntrustedBytes(file, maxBytes);
  return read.bytes ? { text: read.bytes.toString('utf8') } : { refused: read.refused };
}

const EVAL = `import json, sys
sys.path.insert(0, ".")
import eval as task_eval
print(json.dumps(float(task_eval.get_score(sys.argv[1]))))`;

/** Largest output file copied for scoring (a submission for a test split). */
export const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

/**
 * Copies the measured outputs the execution left in `workspaceDir` into `dest`, a fresh folder the
 * experiment never sees, as read-only regular files. Links, FIFOs and oversized files are not copied (the
 * score then fails as if the output were missing); `refused` says why for each.
 */
export async function copyOutputs(
  workspaceDir: string,
  names: readonly string[],
  dest: string,
): Promise<Record<string, string>> {
  await fs.promises.rm(dest, { recursive: true, force: true });
  await fs.promises.mkdir(dest, { recursive: true, mode: 0o700 });
  const refused: Record<string, string> = {};
  for (const name of names) {
    const max = name === 'metrics.json' ? MAX_REPORTED_BYTES : MAX_OUTPUT_BYTES;
    const read = await readUntrustedBytes(path.join(workspaceDir, name), max);
    if (!read.bytes) {
      if (read.refused !== 'missing') refused[name] = read.refused!;
      continue;
    }
    await fs.promises.writeFile(path.join(dest, name), read.bytes, { mode: 0o444, flag: 'wx' });
  }
  await fs.promises.chmod(dest, 0o500);
  return refused;
}

async function readUntrustedBytes(file: string, maxBytes: number): Promise<{ bytes?: Buffer; refused?: string }> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(file);
  } catch {
    return { refused: 'missing' };
  }
  if (!st.isFile()) return { refused: st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file' };
  if (st.nlink > 1) return { refused: 'a hard link to another file' };
  if (st.size > maxBytes) return { refused: `larger than ${maxBytes} bytes` };
  const handle = await fs.promises
    .open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK)
    .catch(() => undefined);
  if (!handle) return { refused: 'cannot be opened' };
  try {
    const buf = Buffer.alloc(st.size + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) return { refused: `larger than ${maxBytes} bytes` };
    return { bytes: buf.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/**
 * The task's own eval.py scores a read-only copy of the outputs (copyOutputs), run by the harness from the
 * prepared task's scripts folder, which no experiment can see; metrics.json is kept as reported.
 */
/** What eval scripts return on an error instead of raising (MLAgentBench's convention); never a score. */
export const ERROR_SENTINEL = 1e10;

export async function measure(
  python: string,
  scriptsDir: string,
  outputsDir: string,
  metricName: string,
  invalidAtOrBelow?: number,
  isolate?: Isolate,
  /** The task's prepared Hub datasets, which eval.py may load by id (offline). */
  datasetsCache?: string,
): Promise<NonNullable<ExecutionResult['metrics']>> {
  let stdout: string;
  let command = [python, '-c', EVAL, outputsDir];
  // A venv's python links to the installation it was made from: both are read.
  const reads = [path.dirname(path.dirname(python)), scriptsDir, outputsDir];
  if (datasetsCache) {
    // eval.py may load the task's Hub datasets as its code does (upstream imdb's does): offline, through a view
    // in its private /tmp (or, unsandboxed, a folder of this scoring's own).
    const view = isolate ? '/tmp/hf-datasets' : `${outputsDir}.hf-datasets`;
    command = withEnv([python, VIEW_SCRIPT, datasetsCache, '--', ...command], offlineDatasetsEnv(view));
    reads.push(datasetsCache, path.dirname(VIEW_SCRIPT));
  }
  const [program, args] = isolate ? isolate(command, reads, scriptsDir) : [command[0]!, command.slice(1)];
  try {
    ({ stdout } = await execFileP(program, args, {
      cwd: scriptsDir,
      timeout: 120_000,
      maxBuffer: 1024 * 1024,
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
  // Number(), not JSON.parse: Python prints NaN and Infinity, which JSON has no words for.
  const score = Number(stdout.trim());
  if (!Number.isFinite(score)) throw new Error(`eval.py returned ${stdout.trim()}`);
  if (Math.abs(score) >= ERROR_SENTINEL)
    throw new Error(`eval.py returned ${score} (>= 1e10, its error sentinel), not a score`);
  if (invalidAtOrBelow !== undefined && score <= invalidAtOrBelow) {
    throw new Error(`eval.py returned ${score}, its sign of an invalid submission (<= ${invalidAtOrBelow})`);
  }
  const metrics: NonNullable<ExecutionResult['metrics']> = { [metricName]: score };
  const reported = await readUntrusted(path.join(outputsDir, 'metrics.json'), MAX_REPORTED_BYTES);
  if (reported.text !== undefined) {
    try {
      const parsed: unknown = JSON.parse(reported.text);
      metrics.reported =
        parsed && typeof parsed === 'object' && !Array.isArray(parsed)
          ? (parsed as Record<string, unknown>)
          : { error: 'metrics.json is not a JSON object' };
    } catch {
      metrics.reported = { error: 'metrics.json is not valid JSON' };
    }
  }
  return metrics;
}

/** The one message a failed scoring gives: whether the submission was there, never what eval.py said of it. */
function scoringFailure(scoringDir: string, refused: Record<string, string>): string {
  const [name] = MEASURED_OUTPUTS;
  if (refused[name!]) return `missing metric: ${name} was not read: ${refused[name!]}`;
  if (!fs.existsSync(path.join(scoringDir, name!))) return `missing metric: the script wrote no ${name}`;
  return `missing metric: the task's evaluation did not accept ${name}`;
}

export interface ScoreInput {
  python: string;
  task: TrustedTask;
  /** The workspace as the execution left it (a copy the backend owns). */
  workspaceDir: string;
  /** A fresh folder for the read-only copy of the outputs; removed afterwards. */
  scoringDir: string;
  metricName: string;
  exitCode: number | null;
  /** Appended to a non-zero exit's error when the execution was killed for memory. */
  memoryNote: string;
  /** The execution's measured wall time: the metric of a task scored by duration. */
  durationMs: number;
  /** The sandbox eval.py runs in; none runs it as the worker, with the network (MLR_SANDBOX=none). */
  isolate?: Isolate;
}

/**
 * What every backend does once the script has run: an execution that changed the task's read-only files
 * is void; a non-zero exit fails; otherwise eval.py scores a read-only copy of the outputs.
 */
export async function scoreExecution(
  s: ScoreInput,
): Promise<Pick<ExecutionResult, 'status' | 'metrics' | 'error' | 'readOnlyViolations'>> {
  const readOnlyViolations = fs.existsSync(s.workspaceDir)
    ? await new Workspace(s.workspaceDir, s.task.readOnlyPatterns).readOnlyChanges(s.task.envDir)
    : [];
  if (readOnlyViolations.length > 0) {
    const error = `${READ_ONLY_VIOLATION}: ${readOnlyViolations.join(', ')}`;
    return { status: 'failed', metrics: null, error, readOnlyViolations };
  }
  if (s.exitCode !== 0) {
    return { status: 'failed', metrics: null, error: `exit code ${s.exitCode}${s.memoryNote}`, readOnlyViolations };
  }
  let refused: Record<string, string> = {};
  try {
    refused = await copyOutputs(s.workspaceDir, MEASURED_OUTPUTS, s.scoringDir);
    const metrics = await measure(
      s.python,
      s.task.scriptsDir,
      s.scoringDir,
      s.metricName,
      s.task.invalidAtOrBelow,
      s.isolate,
      s.task.datasetsCache,
    );
    if (s.task.scoreBy === 'duration') {
      // A timing task: eval.py accepted the outputs; the score is how long the execution took, as measured here.
      metrics.eval_score = metrics[s.metricName]!;
      metrics[s.metricName] = s.durationMs / 1000;
    }
    if (refused['metrics.json']) metrics.reported = { error: `metrics.json was not read: ${refused['metrics.json']}` };
    return { status: 'succeeded', metrics, readOnlyViolations };
  } catch {
    // What eval.py printed, or which of its checks failed, would answer questions about the hidden answers
    // one execution at a time: the agent (and the record it reads) learns only whether there was a
    // submission to score, and that it was not accepted.
    return { status: 'failed', metrics: null, error: scoringFailure(s.scoringDir, refused), readOnlyViolations };
  } finally {
    await fs.promises.chmod(s.scoringDir, 0o700).catch(() => undefined);
    await fs.promises.rm(s.scoringDir, { recursive: true, force: true });
    await fs.promises.rm(`${s.scoringDir}.hf-datasets`, { recursive: true, force: true });
  }
}

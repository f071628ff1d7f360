// Scoring an execution: the task's own eval.py measures the outputs from outside the workspace, and what
// the script reported in metrics.json is read with every precaution a hostile workspace calls for.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionResult, ExecutionSpec } from './types';

const execFileP = promisify(execFile);

/** Largest metrics.json read back; a bigger one is reported as such, not read. */
export const MAX_REPORTED_BYTES = 1024 * 1024;

/**
 * Reads a file the experiment wrote without trusting it: it must be a regular file (not a FIFO that
 * would block, nor a symlink pointing outside), at most `maxBytes`, opened O_NOFOLLOW|O_NONBLOCK and
 * read asynchronously. Returns the reason instead of the content when it is refused.
 */
export async function readUntrusted(file: string, maxBytes: number): Promise<{ text?: string; refused?: string }> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(file);
  } catch {
    return { refused: 'missing' };
  }
  if (!st.isFile()) return { refused: st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file' };
  if (st.size > maxBytes) return { refused: `larger than ${maxBytes} bytes` };
  const handle = await fs.promises
    .open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK)
    .catch(() => undefined);
  if (!handle) return { refused: 'cannot be opened' };
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes) return { refused: `larger than ${maxBytes} bytes` };
    return { text: buf.subarray(0, bytesRead).toString('utf8') };
  } finally {
    await handle.close();
  }
}

const EVAL = `import json, sys
sys.path.insert(0, ".")
import eval as task_eval
print(json.dumps(float(task_eval.get_score(sys.argv[1]))))`;

/** The task's own eval.py scores the run from outside the workspace; metrics.json is kept as reported. */
export async function measure(python: string, spec: ExecutionSpec): Promise<NonNullable<ExecutionResult['metrics']>> {
  let stdout: string;
  try {
    ({ stdout } = await execFileP(python, ['-c', EVAL, spec.workspaceDir], {
      cwd: spec.scriptsDir,
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
  const score = Number(JSON.parse(stdout.trim()));
  if (!Number.isFinite(score)) throw new Error(`eval.py returned ${stdout.trim()}`);
  const metrics: NonNullable<ExecutionResult['metrics']> = { [spec.metricName]: score };
  const reported = await readUntrusted(path.join(spec.workspaceDir, 'metrics.json'), MAX_REPORTED_BYTES);
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
  } else if (reported.refused !== 'missing') {
    metrics.reported = { error: `metrics.json was not read: ${reported.refused}` };
  }
  return metrics;
}

// The prototype-code library in MLAgentBench's layout: <task>/env (starter code and data),
// <task>/scripts/{research_problem.txt, prepare.py?, eval.py, read_only_files.txt}, plus an optional
// task.json. A folder copied from MLAgentBench works unchanged: its metric and direction come from the table of
// upstream tasks (upstream.ts). A task with neither that nor a task.json naming them is refused, never given a
// default: scoring a lower-is-better task as higher-is-better would invert every result.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { HubError, offlineDatasetsEnv, validHubId } from '../domain/hub';
import { withEnv, type Isolate } from '../domain/isolate';
import { MAX_TASK_TIMEOUT_SECONDS } from '../domain/time-limits';
import { ensureTaskEnv, findUv, readRequirements } from './environment';
import {
  DATASETS_DIR,
  DATASETS_RECORD,
  fetchTaskDatasets,
  type HubDataSource,
  type PinnedDataset,
} from './hub-data';
import { UPSTREAM_INVALID_AT_OR_BELOW, UPSTREAM_TASKS } from './upstream';

/**
 * Runs prepare.py as MLAgentBench does (cwd scripts/), but with stdin closed: a script that asks a question
 * (input(), a download prompt) fails at once with a message saying so, instead of hanging until the limit.
 */
function runPrepare(
  python: string,
  cwd: string,
  vars: Record<string, string>,
  isolate?: Isolate,
  timeoutMs = 10 * 60_000,
): Promise<void> {
  // A venv's python links to the installation it was made from: both are read.
  const command = withEnv([python, 'prepare.py'], vars);
  const [cmd, args] = isolate
    ? isolate(command, [path.dirname(path.dirname(python))], cwd)
    : [command[0]!, command.slice(1)];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: timeoutMs,
      env: { PATH: `${path.dirname(python)}:/usr/bin:/bin`, MLR_SEED: '0', LANG: 'C.UTF-8' },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      if (/EOFError: EOF when reading a line/.test(stderr)) {
        return reject(new Error(`prepare.py asked for input on stdin, which no one can answer here (${tail})`));
      }
      if (signal) return reject(new Error(`prepare.py did not finish in ${timeoutMs / 60_000} minutes (${signal})`));
      reject(new Error(`prepare.py failed with exit code ${code}: ${tail}`));
    });
  });
}

export const taskManifestSchema = z.object({
  name: z.string().min(1),
  domain: z.string().default('unknown'),
  metric: z.string().min(1).max(100).optional(),
  direction: z.enum(['max', 'min']).optional(),
  /** Scores at or below this are an eval script's "invalid submission" sentinel: the execution fails. */
  invalidAtOrBelow: z.number().optional(),
  /**
   * A fixed baseline score, for a task whose starter is not meant to run as it is (upstream's plot.py uses such
   * numbers for imdb, house-price, …): the starter is then never executed, and the report says so.
   */
  baseline: z.number().finite().optional(),
  /**
   * Each execution's time limit in seconds. Unset: MLR_EXEC_TIMEOUT_MS, except the mlab agent's own executions,
   * which keep upstream's none (only the agent's time left bounds them).
   */
  timeoutSeconds: z.number().int().min(1).max(MAX_TASK_TIMEOUT_SECONDS).optional(),
  /** `duration`: the metric is the execution's measured wall time in seconds (timing tasks); eval.py still checks. */
  scoreBy: z.enum(['eval', 'duration']).default('eval'),
  /** Python requirements of the task's own environment (also read from requirements.txt beside env/). */
  requirements: z.array(z.string().min(1).max(300)).max(200).optional(),
  /**
   * Hub datasets the task's own code loads by id (`load_dataset(id)`): fetched when the task is prepared, at a
   * pinned commit, and read offline by its experiments. Its environment must provide `datasets`.
   */
  hubDatasets: z
    .array(z.string().max(200).refine(validHubId, 'not a Hub dataset id'))
    .max(5)
    .optional(),
  tags: z.array(z.string()).default([]),
  /** What one execution of the task needs; unset fields take the service's defaults (MLR_EXEC_*). */
  resources: z
    .object({
      cpu: z.number().positive().max(256).optional(),
      memoryMb: z.number().int().min(64).max(4_194_304).optional(),
      gpus: z.number().int().min(0).max(16).optional(),
      gpuType: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/)
        .optional(),
    })
    .strict()
    .default({}),
});

export interface Task extends Omit<z.infer<typeof taskManifestSchema>, 'metric' | 'direction'> {
  id: string;
  dir: string;
  researchProblem: string;
  metric: string;
  direction: 'max' | 'min';
  /** Where metric and direction came from: the folder's task.json or the table of upstream tasks. */
  source: 'task.json' | 'upstream';
  /** The task's own requirements (normalised text), when it declares any: it then runs in its own venv. */
  envRequirements?: string;
  /** Where a fixed `baseline` came from: the folder's task.json, or upstream's plot.py (the table). */
  baselineFrom?: 'task.json' | 'upstream';
}

/** A folder in the task layout that cannot be scored as it stands; the message says what to add. */
export class TaskRefused extends Error {
  constructor(
    readonly taskId: string,
    message: string,
  ) {
    super(message);
  }
}

function readManifest(dir: string, id: string): z.infer<typeof taskManifestSchema> {
  const file = path.join(dir, 'task.json');
  if (!fs.existsSync(file)) return taskManifestSchema.parse({ name: id });
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new TaskRefused(id, `task ${id}: task.json is not valid JSON`);
  }
  const parsed = taskManifestSchema.safeParse({ name: id, ...(raw as object) });
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'task.json'}: ${i.message}`).join('; ');
    throw new TaskRefused(id, `task ${id}: task.json is invalid (${why})`);
  }
  return parsed.data;
}

/**
 * The task in `dir`, or undefined when the folder is not in the task layout (no env/ or scripts/eval.py).
 * Throws TaskRefused when it is, but says neither in task.json nor by its upstream name how it is scored.
 */
export function loadTask(dir: string): Task | undefined {
  const scripts = path.join(dir, 'scripts');
  if (!fs.existsSync(path.join(dir, 'env')) || !fs.existsSync(path.join(scripts, 'eval.py'))) return undefined;
  const id = path.basename(dir);
  const manifest = readManifest(dir, id);
  const upstream = Object.hasOwn(UPSTREAM_TASKS, id) ? UPSTREAM_TASKS[id] : undefined;
  const metric = manifest.metric ?? upstream?.metric;
  const direction = manifest.direction ?? upstream?.direction;
  if (!metric || !direction) {
    throw new TaskRefused(
      id,
      `task ${id} does not say how it is scored: add ${path.join(id, 'task.json')} with ` +
        `{"metric": "<what scripts/eval.py returns>", "direction": "max" or "min"} ` +
        `(folders named after an MLAgentBench task, such as house-price or cifar10, need none)`,
    );
  }
  const problemFile = path.join(scripts, 'research_problem.txt');
  const researchProblem = fs.existsSync(problemFile) ? fs.readFileSync(problemFile, 'utf8').trim() : manifest.name;
  let envRequirements: string | undefined;
  try {
    // An upstream folder carries no requirements of its own: those its code imports come from the table.
    const own = manifest.requirements ?? (fs.existsSync(path.join(dir, 'requirements.txt')) ? undefined : upstream?.requirements);
    envRequirements = readRequirements(dir, own);
  } catch (err) {
    throw new TaskRefused(id, `task ${id}: ${(err as Error).message}`);
  }
  const hubDatasets = manifest.hubDatasets ?? upstream?.hubDatasets;
  const baseline = manifest.baseline ?? upstream?.baseline;
  return {
    ...(envRequirements ? { envRequirements } : {}),
    ...manifest,
    ...(hubDatasets ? { hubDatasets } : {}),
    ...(baseline !== undefined
      ? { baseline, baselineFrom: manifest.baseline !== undefined ? ('task.json' as const) : ('upstream' as const) }
      : {}),
    metric,
    direction,
    // Upstream eval scripts mark a missing or malformed submission with a score <= 0.
    invalidAtOrBelow: manifest.invalidAtOrBelow ?? (upstream ? UPSTREAM_INVALID_AT_OR_BELOW : undefined),
    source: manifest.metric && manifest.direction ? 'task.json' : 'upstream',
    id,
    dir,
    researchProblem,
  };
}

/** Every task folder under `tasksDir`: those that can run, and those refused with the reason. */
export function inspectTasks(tasksDir: string): { tasks: Task[]; refused: TaskRefused[] } {
  const tasks: Task[] = [];
  const refused: TaskRefused[] = [];
  if (!fs.existsSync(tasksDir)) return { tasks, refused };
  for (const d of fs.readdirSync(tasksDir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    try {
      const task = loadTask(path.join(tasksDir, d.name));
      if (task) tasks.push(task);
    } catch (err) {
      if (!(err instanceof TaskRefused)) throw err;
      refused.push(err);
    }
  }
  tasks.sort((a, b) => a.id.localeCompare(b.id));
  refused.sort((a, b) => a.taskId.localeCompare(b.taskId));
  return { tasks, refused };
}

/** The tasks that can run (refused folders are left out; inspectTasks says why). */
export function listTasks(tasksDir: string): Task[] {
  return inspectTasks(tasksDir).tasks;
}

/** sha256 over every file of the task folder (paths and contents), so an edited task is prepared again. */
export function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) h.update(child).update('\0').update(fs.readFileSync(path.join(dir, child))).update('\0');
    }
  };
  walk('');
  return h.digest('hex');
}

export interface PreparedTask {
  task: Task;
  /** The prepared copy: env/ holds starter code and data, scripts/ holds eval.py and hidden answers. */
  root: string;
  envDir: string;
  scriptsDir: string;
  readOnlyPatterns: string[];
  /** sha256 of the prepared env/ (starter code and data), computed once when the task is prepared. */
  envHash: string;
  /** The task's own interpreter when it declares requirements; else undefined (the service's venv). */
  python?: string;
  /** The `datasets` cache of its Hub datasets (read-only, offline), when it declares any. */
  datasetsCache?: string;
  /** Those datasets and the commits they were loaded at. */
  hubDatasets?: PinnedDataset[];
  /**
   * Everything but the code that can change a baseline's number: the task folder as shipped (data, eval.py and
   * every script, task.json, requirements) and the environment that runs it. Baselines are cached under it.
   */
  fingerprint: string;
}

/**
 * Copies the task under the data directory and runs its prepare.py once (cwd scripts/, as MLAgentBench
 * does). The copy is keyed by the task's content hash and built in a temporary folder that is renamed
 * into place, so concurrent runs and crashes never see a half-prepared task. With `isolate`, prepare.py runs
 * in the sandbox (prepareIsolation): it writes only that copy and sees no secret of the service.
 */
export async function prepareTask(
  task: Task,
  preparedRoot: string,
  basePython: string,
  envsRoot = path.join(path.dirname(preparedRoot), 'envs'),
  isolate?: Isolate,
  /** Where the task's Hub datasets come from (HF_ENDPOINT, HF_TOKEN); only a task that declares some uses it. */
  hubSource: HubDataSource = {},
): Promise<PreparedTask> {
  const env = task.envRequirements
    ? await ensureTaskEnv(task.envRequirements, envsRoot, basePython, findUv(basePython))
    : undefined;
  const own = env?.python;
  const python = own ?? basePython;
  const taskHash = hashTree(task.dir);
  const key = `${task.id}-${taskHash.slice(0, 16)}`;
  const root = path.join(preparedRoot, key);
  if (!fs.existsSync(path.join(root, 'prepared'))) {
    fs.mkdirSync(preparedRoot, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(preparedRoot, `.${key}-`));
    fs.cpSync(task.dir, tmp, { recursive: true });
    let vars: Record<string, string> = {};
    if (task.hubDatasets?.length) {
      try {
        const pinned = await fetchTaskDatasets(python, task.hubDatasets, tmp, hubSource);
        fs.writeFileSync(path.join(tmp, DATASETS_RECORD), JSON.stringify(pinned));
        vars = offlineDatasetsEnv(path.join(tmp, DATASETS_DIR));
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        // The Hub down or slow is worth another attempt; a dataset that is gated, missing or unloadable is not.
        if (err instanceof HubError && err.kind !== 'unavailable' && err.kind !== 'rate_limited')
          throw new TaskRefused(task.id, `task ${task.id}: ${err.message}`);
        throw err;
      }
    }
    const prepare = path.join(tmp, 'scripts', 'prepare.py');
    if (fs.existsSync(prepare)) {
      try {
        await runPrepare(python, path.join(tmp, 'scripts'), vars, isolate);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw new TaskRefused(task.id, `task ${task.id}: ${(err as Error).message}`);
      }
    }
    // The marker holds the env hash, so later calls (every agent step) need not re-read the data.
    fs.writeFileSync(path.join(tmp, 'prepared'), hashTree(path.join(tmp, 'env')));
    try {
      fs.renameSync(tmp, root);
    } catch {
      fs.rmSync(tmp, { recursive: true, force: true }); // another process won the race
    }
  }
  const roFile = path.join(root, 'scripts', 'read_only_files.txt');
  const readOnlyPatterns = fs.existsSync(roFile)
    ? fs.readFileSync(roFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean)
    : [];
  const envDir = path.join(root, 'env');
  const record = path.join(root, DATASETS_RECORD);
  const hubDatasets = fs.existsSync(record) ? (JSON.parse(fs.readFileSync(record, 'utf8')) as PinnedDataset[]) : [];
  // The task's own environment is named by its requirements and base interpreter; the service's by its path. Hub
  // datasets are named by their commits: the same folder against a dataset that moved on is another baseline.
  const fingerprint = createHash('sha256')
    .update(`${taskHash}\n${env ? `env:${env.hash}` : `service:${basePython}`}`)
    .update(hubDatasets.map((d) => `\nhub:${d.id}@${d.revision}`).join(''))
    .digest('hex');
  let envHash = fs.readFileSync(path.join(root, 'prepared'), 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(envHash)) {
    // Prepared by an earlier version whose marker held a date: hash once and keep it.
    envHash = hashTree(envDir);
    fs.writeFileSync(path.join(root, 'prepared'), envHash);
  }
  return {
    task,
    root,
    envDir,
    scriptsDir: path.join(root, 'scripts'),
    readOnlyPatterns,
    envHash,
    ...(own ? { python: own } : {}),
    ...(hubDatasets.length ? { datasetsCache: path.join(root, DATASETS_DIR), hubDatasets } : {}),
    fingerprint,
  };
}

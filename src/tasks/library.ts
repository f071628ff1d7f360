// The prototype-code library in MLAgentBench's layout: <task>/env (starter code and data),
// <task>/scripts/{research_problem.txt, prepare.py?, eval.py, read_only_files.txt}, plus an optional
// task.json. A folder copied from MLAgentBench (no task.json) works with defaults.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

const run = promisify(execFile);

export const taskManifestSchema = z.object({
  name: z.string().min(1),
  domain: z.string().default('unknown'),
  metric: z.string().default('score'),
  direction: z.enum(['max', 'min']).default('max'),
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

export interface Task extends z.infer<typeof taskManifestSchema> {
  id: string;
  dir: string;
  researchProblem: string;
}

export function loadTask(dir: string): Task | undefined {
  const scripts = path.join(dir, 'scripts');
  if (!fs.existsSync(path.join(dir, 'env')) || !fs.existsSync(path.join(scripts, 'eval.py'))) return undefined;
  const id = path.basename(dir);
  const manifestFile = path.join(dir, 'task.json');
  const raw = fs.existsSync(manifestFile) ? JSON.parse(fs.readFileSync(manifestFile, 'utf8')) : { name: id };
  const manifest = taskManifestSchema.parse(raw);
  const problemFile = path.join(scripts, 'research_problem.txt');
  const researchProblem = fs.existsSync(problemFile) ? fs.readFileSync(problemFile, 'utf8').trim() : manifest.name;
  return { ...manifest, id, dir, researchProblem };
}

export function listTasks(tasksDir: string): Task[] {
  if (!fs.existsSync(tasksDir)) return [];
  return fs
    .readdirSync(tasksDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => loadTask(path.join(tasksDir, d.name)))
    .filter((t): t is Task => t !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
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
}

/**
 * Copies the task under the data directory and runs its prepare.py once (cwd scripts/, as MLAgentBench
 * does). The copy is keyed by the task's content hash and built in a temporary folder that is renamed
 * into place, so concurrent runs and crashes never see a half-prepared task.
 */
export async function prepareTask(task: Task, preparedRoot: string, python: string): Promise<PreparedTask> {
  const key = `${task.id}-${hashTree(task.dir).slice(0, 16)}`;
  const root = path.join(preparedRoot, key);
  if (!fs.existsSync(path.join(root, 'prepared'))) {
    fs.mkdirSync(preparedRoot, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(preparedRoot, `.${key}-`));
    fs.cpSync(task.dir, tmp, { recursive: true });
    const prepare = path.join(tmp, 'scripts', 'prepare.py');
    if (fs.existsSync(prepare)) {
      await run(python, ['prepare.py'], { cwd: path.join(tmp, 'scripts'), timeout: 10 * 60_000, env: { PATH: `${path.dirname(python)}:/usr/bin:/bin`, MLR_SEED: '0' } });
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
  let envHash = fs.readFileSync(path.join(root, 'prepared'), 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(envHash)) {
    // Prepared by an earlier version whose marker held a date: hash once and keep it.
    envHash = hashTree(envDir);
    fs.writeFileSync(path.join(root, 'prepared'), envHash);
  }
  return { task, root, envDir, scriptsDir: path.join(root, 'scripts'), readOnlyPatterns, envHash };
}

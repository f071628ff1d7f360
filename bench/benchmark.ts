// The benchmark harness on the embedded stack as `npm start` runs it, with an instant model (the agent changes
// nothing, so every run costs what the harness costs: baseline, candidate and the validation seeds):
//  (0) floors: one no-op Temporal activity round trip, and one bare `python -c pass` start;
//  (1) a task environment (uv) built cold (empty package cache), with a warm package cache, and found cached;
//  (2) a benchmark over the shipped tasks × R runs × K seeds: wall time, and per task its mean wall time per
//      run against the floors.
// Usage: npm run bench:benchmark [-- --runs 2 --seeds 2]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/stack/processes';
import { ensureTaskEnv, findUv, readRequirements } from '../src/tasks/environment';
import { listTasks } from '../src/tasks/library';
import { startFakeModel } from '../test/support/fake-model';
import { noopRoundTrip } from './floor';
import { ROOT, arg, fmt, request, sleep, startStack, stopStack } from './stack';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');

const api = request;

function pythonStartMs(n = 10): number {
  const t = performance.now();
  for (let i = 0; i < n; i++) execFileSync(PYTHON, ['-c', 'pass']);
  return (performance.now() - t) / n;
}

async function envBuilds(pyStart: number): Promise<void> {
  const uv = findUv(PYTHON);
  for (const task of listTasks(path.join(ROOT, 'tasks')).filter((t) => t.envRequirements)) {
    const req = readRequirements(task.dir, task.requirements)!;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-env-'));
    const saved = process.env.UV_CACHE_DIR;
    try {
      process.env.UV_CACHE_DIR = path.join(scratch, 'uv-cache'); // empty: every wheel is downloaded
      const cold = await ensureTaskEnv(req, path.join(scratch, 'cold'), PYTHON, uv);
      const warm = await ensureTaskEnv(req, path.join(scratch, 'warm'), PYTHON, uv); // same cache, new venv
      const t = performance.now();
      const cached = await ensureTaskEnv(req, path.join(scratch, 'warm'), PYTHON, uv);
      const hit = performance.now() - t;
      console.log(
        `(1) ${task.id} (${req.trim().split('\n').length} requirements): cold ${fmt(cold.ms)} ms, warm package cache ` +
          `${fmt(warm.ms)} ms (${(warm.ms / pyStart).toFixed(0)}× a python start), cached ${hit.toFixed(2)} ms ` +
          `(built: ${cached.built})`,
      );
    } finally {
      if (saved === undefined) delete process.env.UV_CACHE_DIR;
      else process.env.UV_CACHE_DIR = saved;
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
}

async function main(): Promise<void> {
  const runs = arg('runs', 2);
  const seeds = arg('seeds', 2);
  const tasks = listTasks(path.join(ROOT, 'tasks')).map((t) => t.id);
  const pyStart = pythonStartMs();
  console.log(`(0) floor: a bare python start ${pyStart.toFixed(1)} ms`);
  await envBuilds(pyStart);

  const model = await startFakeModel();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-benchmark-'));
  const port = await freePort();
  const temporalPort = await freePort();
  // The operator's network settings reach the stack, so that it can build task environments.
  const network = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => /^(SSL_CERT_|https?_proxy|HTTPS?_PROXY|NO_PROXY|no_proxy|UV_)/.test(e[0]) && !!e[1],
    ),
  );
  const { stack } = await startStack(dataDir, port, {
    ...network,
    MLR_TEMPORAL_PORT: String(temporalPort),
    MLR_MODEL: 'fake',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'x',
    SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/graph/v1',
    MLR_VALIDATION_PARALLELISM: '2',
  });
  try {
    const floor = await noopRoundTrip(`127.0.0.1:${temporalPort}`, 20);
    console.log(`(0) floor: one no-op activity round trip ${floor.toFixed(1)} ms`);
    const t0 = performance.now();
    const created = await api(port, 'POST', '/v1/benchmarks', {
      tasks,
      runsPerTask: runs,
      validationSeeds: seeds,
      budget: { usd: 1000 },
    });
    let view: Json;
    for (;;) {
      view = await api(port, 'GET', `/v1/benchmarks/${created.id}`);
      if (['completed', 'failed', 'cancelled'].includes(view.status)) break;
      if (performance.now() - t0 > 60 * 60_000) throw new Error(`stuck: ${JSON.stringify(view.runs)}`);
      await sleep(1000);
    }
    const wall = performance.now() - t0;
    console.log(
      `(2) ${tasks.length} tasks × ${runs} runs × ${seeds} seeds → ${view.status} in ${fmt(wall / 1000)} s ` +
        `(${fmt(wall / (tasks.length * runs))} ms per task-run, environments built on first use included); ` +
        `runs by status ${JSON.stringify(view.runs.byStatus)}`,
    );
    for (const t of view.results.tasks) {
      const ms = t.meanWallSeconds * 1000;
      console.log(
        `    ${t.task}: ${fmt(ms)} ms per run = ${(ms / pyStart).toFixed(0)}× a python start, ` +
          `${(ms / floor).toFixed(0)}× the activity floor; success ${t.successes}/${t.runs}, verdicts ${JSON.stringify(t.verdicts)}`,
      );
    }
  } finally {
    await stopStack(stack);
    await model.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Benchmarks end to end on the real stack with the stand-in model: the shipped tasks × 2 runs × 2 seeds, each
// run from the research problem alone (no paper, no idea), scored as MLAgentBench scores agents, surviving
// the loss of its worker; and every refusal as a clear 4xx.
import fs from 'node:fs';
import path from 'node:path';
import { relativeImprovement } from '../../src/domain/benchmark';
import { listTasks } from '../../src/tasks/library';
import type { Json } from '../support/api';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { ROOT, TEST_DATA } from '../support/paths';
import { completedIrisStarter } from '../support/train-scripts';

let model: FakeModel;
let h: Harness;
let worker: Awaited<ReturnType<Harness['startWorker']>>;
const TASKS_DIR = path.join(TEST_DATA, 'benchmark-tasks');
const shipped = listTasks(path.join(ROOT, 'tasks')).map((t) => t.id);
const INCOMPLETE = 'iris-incomplete';

beforeAll(async () => {
  // The shipped tasks, plus one folder in the upstream layout that says nowhere how it is scored.
  fs.rmSync(TASKS_DIR, { recursive: true, force: true });
  for (const id of shipped) fs.cpSync(path.join(ROOT, 'tasks', id), path.join(TASKS_DIR, id), { recursive: true });
  fs.cpSync(path.join(ROOT, 'tasks', 'diabetes-regression'), path.join(TASKS_DIR, 'my-regression'), {
    recursive: true,
  });
  fs.rmSync(path.join(TASKS_DIR, 'my-regression', 'task.json'));
  model = await startFakeModel();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    MLR_TASKS_DIR: TASKS_DIR,
    MLR_VALIDATION_PARALLELISM: '2',
    // The stand-in agent changes nothing: an unfinished starter fails at once instead of after five retries.
    MLR_MAX_DEBUG_ITERATIONS: '1',
    MLR_CAMPAIGN_MAX_RUNS: '20',
  });
  worker = await h.startWorker();
}, 60_000);
afterAll(async () => {
  await h.close();
  await model.close();
});

const post = (payload: Json, headers: Record<string, string> = AUTH) =>
  h.app.inject({ method: 'POST', url: '/v1/benchmarks', headers, payload });
const get = async (url: string) => (await h.app.inject({ method: 'GET', url, headers: AUTH })).json();

/** The benchmark's view once it has completed (or as it stands after five minutes). */
async function completed(id: string): Promise<Json> {
  let view: Json = {};
  for (let i = 0; i < 600; i++) {
    view = await get(`/v1/benchmarks/${id}`);
    if (view.status === 'completed') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return view;
}

describe('benchmarks', () => {
  it('refuses what it cannot run with a clear 4xx', async () => {
    const unscored = await post({ tasks: ['my-regression'], budget: { usd: 1 } });
    expect(unscored.statusCode).toBe(422);
    expect(unscored.json().error.code).toBe('TaskRefused');
    expect(unscored.json().error.message).toContain('task.json');
    const unknown = await post({ tasks: ['no-such-task'], budget: { usd: 1 } });
    expect(unknown.json().error).toMatchObject({ code: 'UnknownTask' });
    expect((await post({ tasks: [shipped[0]], profile: 'upstream', budget: { usd: 1 } })).statusCode).toBe(400);
    expect((await post({ tasks: [shipped[0]] })).statusCode).toBe(400); // no budget
    const tooMany = await post({ tasks: shipped, runsPerTask: 3, budget: { usd: 1 } }); // 21 runs, 20 allowed
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.message).toBe('at most 20 runs (MLR_CAMPAIGN_MAX_RUNS)');
    // Upstream's 8 runs per task unless asked otherwise: three tasks are 24 runs, over the same limit.
    const byDefault = await post({ tasks: shipped.slice(0, 3), budget: { usd: 1 } });
    expect([byDefault.statusCode, byDefault.json().error.message]).toEqual([
      400,
      'at most 20 runs (MLR_CAMPAIGN_MAX_RUNS)',
    ]);
    expect((await post({ tasks: ['../etc'], budget: { usd: 1 } })).statusCode).toBe(400);
    expect((await post({ tasks: [shipped[0]], budget: { usd: 1 } }, {})).statusCode).toBe(401);
    expect(
      (await h.app.inject({ method: 'GET', url: `/v1/benchmarks/${crypto.randomUUID()}`, headers: AUTH })).statusCode,
    ).toBe(404);
    expect((await get('/v1/runs?limit=5')).items).toEqual([]); // nothing was created by any of them
    // The library says the same: what runs, and what is refused and why.
    const library = await get('/v1/tasks');
    expect(library.items.map((t: Json) => t.id)).toEqual(shipped);
    expect(library.items.find((t: Json) => t.id === 'digits-logloss')).toMatchObject({
      metric: 'log_loss',
      direction: 'min',
      source: 'task.json',
      ownEnvironment: false,
    });
    expect(library.refused).toEqual([{ id: 'my-regression', reason: expect.stringContaining('task.json') }]);
  });

  it('runs the shipped tasks × 2 runs × 2 seeds from their research problems and scores them as upstream', async () => {
    const res = await post({
      tasks: shipped,
      profile: 'copilot',
      runsPerTask: 2,
      validationSeeds: 4,
      budget: { usd: 100 },
    });
    expect(res.statusCode).toBe(201);
    const id = res.json().id;
    expect(res.json()).toMatchObject({ profile: 'copilot', tasks: shipped, runsPerTask: 2 });
    expect(res.json().runs.total).toBe(shipped.length * 2);

    // The worker goes away once the first runs are executing; another one finishes the benchmark.
    for (let i = 0; i < 600; i++) {
      const runs = await get(`/v1/runs?campaignId=${id}&limit=50`);
      if (runs.items.some((r: Json) => ['executing', 'validating'].includes(r.status))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await worker.stop();
    worker = await h.startWorker();

    let view: Json;
    for (let i = 0; i < 1200; i++) {
      view = await get(`/v1/benchmarks/${id}`);
      if (['completed', 'failed', 'cancelled'].includes(view.status)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(view.status).toBe('completed');

    const runs: Json[] = (await get(`/v1/runs?campaignId=${id}&limit=50`)).items;
    expect(runs).toHaveLength(shipped.length * 2);
    for (const r of runs) {
      expect(r).toMatchObject({ paperId: null, selectedIdeaId: null });
      expect(shipped).toContain(r.taskId);
      if (r.taskId === INCOMPLETE) {
        // Its starter is unfinished and the stand-in agent leaves it so: the candidate fails; the baseline is
        // the fixed value the task declares, recorded without running anything.
        expect(r.status).toBe('failed');
        expect(r.error).toMatch(/the candidate failed/);
        continue;
      }
      if (r.status !== 'succeeded') {
        // Says which execution failed and how, not only that validation lacked a seed.
        const { rows } = await h.pool.query(
          "SELECT role, seed, status, error FROM experiments WHERE run_id = $1 AND status <> 'succeeded'",
          [r.id],
        );
        throw new Error(`run ${r.id} ${r.status}: ${r.error}; failed executions: ${JSON.stringify(rows)}`);
      }
      expect(r.validation.seeds).toHaveLength(4);
    }
    // The unfinished task's baselines (shared between its runs) were recorded from task.json, never run.
    const fixed = await h.pool.query(
      "SELECT status, executor, duration_ms, metrics FROM experiments WHERE task_id = $1 AND role = 'baseline'",
      [INCOMPLETE],
    );
    expect(fixed.rows.length).toBeGreaterThan(0);
    for (const b of fixed.rows) {
      expect(b).toMatchObject({ status: 'succeeded', executor: 'fixed', duration_ms: 0 });
      expect(b.metrics.accuracy).toBeCloseTo(1 / 3, 12);
    }
    // The agent got the research problem alone: no idea, no plan.
    const prompts = model.requestsFor('agent').map((q) => q.messages.map((m) => m.content ?? '').join('\n'));
    expect(prompts.length).toBeGreaterThanOrEqual(runs.length);
    for (const p of prompts) {
      expect(p).toContain('Research problem:');
      expect(p).not.toContain('Approved idea');
    }
    expect(model.requestsFor('paper_analysis')).toEqual([]);

    // Per task: the runs, the successes under upstream's rule (checked here from the stored results), the
    // Wilson interval, the mean improvement, the verdicts, cost and time.
    expect(view.results.tasks.map((t: Json) => t.task)).toEqual(shipped);
    for (const t of view.results.tasks) {
      const mine = runs.filter((r) => r.taskId === t.task);
      if (t.task === INCOMPLETE) {
        expect(t).toMatchObject({
          runs: 2,
          successes: 0,
          successRate: 0,
          meanImprovement: null,
          verdicts: { none: 2 },
        });
        continue;
      }
      const rels = mine.map((r) => relativeImprovement(r.result.baseline, r.result.value, r.result.direction)!);
      expect(t.runs).toBe(2);
      expect(t.successes).toBe(rels.filter((x) => x > 0.1).length);
      expect(t.successRate).toBe(t.successes / 2);
      expect(t.successInterval[0]).toBeLessThanOrEqual(t.successRate);
      expect(t.successInterval[1]).toBeGreaterThanOrEqual(t.successRate);
      expect(t.meanImprovement).toBeCloseTo(rels.reduce((a: number, b: number) => a + b, 0) / 2, 9);
      expect(Object.values(t.verdicts).reduce((a: number, b) => a + (b as number), 0)).toBe(2);
      expect(t.costUsd).toBeGreaterThanOrEqual(0);
      expect(t.meanWallSeconds).toBeGreaterThan(0);
    }
    expect(view.results.overall).toMatchObject({ task: 'overall', runs: runs.length });
    // The stand-in agent changes nothing: every candidate is the starter, flagged as such, never a success.
    expect(view.results.overall.successes).toBe(0);
    const validated = runs.filter((r) => r.taskId !== INCOMPLETE);
    expect(validated.every((r) => r.validation.flags.some((f: Json) => f.kind === 'identical_code'))).toBe(true);

    // The result table in every format, and the benchmark in the lists.
    const md = await h.app.inject({ method: 'GET', url: `/v1/benchmarks/${id}/report`, headers: AUTH });
    expect(md.headers['content-type']).toContain('text/markdown');
    for (const t of shipped) expect(md.body).toContain(`| ${t} | 2 | 0 | 0% [0%, 66%] |`);
    const svg = await h.app.inject({ method: 'GET', url: `/v1/benchmarks/${id}/report?format=svg`, headers: AUTH });
    expect(svg.body.startsWith('<svg')).toBe(true);
    const html = await h.app.inject({ method: 'GET', url: `/v1/benchmarks/${id}/report?format=html`, headers: AUTH });
    expect(html.body).toContain('<figure><svg');
    const json = await h.app.inject({ method: 'GET', url: `/v1/benchmarks/${id}/report?format=json`, headers: AUTH });
    expect(json.json().results).toEqual(view.results);
    expect((await get('/v1/benchmarks')).items.map((b: Json) => b.id)).toEqual([id]);
    expect((await get(`/v1/campaigns/${id}`)).kind).toBe('benchmark');
    // A run's own report says it is a benchmark's run and reads no paper.
    const report = await h.app.inject({ method: 'GET', url: `/v1/runs/${validated[0].id}/report`, headers: AUTH });
    expect(report.body).toContain('benchmark run');
    expect(report.body).not.toContain('## Paper and research gaps');
  }, 600_000);

  it('measures a completed candidate of an unfinished starter against the fixed baseline the task declares', async () => {
    const complete = completedIrisStarter();
    model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: complete } });
    model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Wrote the model.' } });
    const res = await post({
      tasks: [INCOMPLETE],
      profile: 'copilot',
      runsPerTask: 1,
      validationSeeds: 4,
      budget: { usd: 10 },
    });
    const view = await completed(res.json().id);
    const [run] = (await get(`/v1/runs?campaignId=${view.id}`)).items;
    expect(run.status).toBe('succeeded');
    expect(run.result.baseline).toBeCloseTo(1 / 3, 12);
    expect(run.result.baselineOf).toEqual({ kind: 'fixed' });
    expect(run.result.value).toBeGreaterThan(0.8);
    expect(view.results.tasks[0]).toMatchObject({ runs: 1, successes: 1, successRate: 1 });
    // The baseline never ran: every baseline seed is the declared value, and its spread is no finding.
    expect(run.validation.runs.filter((r: Json) => r.role === 'baseline').map((r: Json) => r.metrics.accuracy)).toEqual(
      [1 / 3, 1 / 3, 1 / 3, 1 / 3],
    );
    // (This candidate ignores the seed and is perfect on iris: those are its findings, flagged as such.)
    const spread = run.validation.flags.filter((f: Json) => f.kind === 'zero_variance').map((f: Json) => f.message);
    expect(spread.some((m: string) => m.includes('baseline'))).toBe(false);
    const report = await h.app.inject({ method: 'GET', url: `/v1/runs/${run.id}/report`, headers: AUTH });
    expect(report.body).toContain('the baseline was not measured');
  }, 300_000);

  it('runs the mlab profile as upstream does: its eight actions, 3 steps in context, a Final Answer that is final', async () => {
    // A long observation (summarised from then on), then a candidate that fails its measurement: with mlab
    // that ends the run, where copilot would hand the error back to the agent.
    const noisy = `${fs.readFileSync(path.join(ROOT, 'tasks', 'breast-cancer', 'env', 'train.py'), 'utf8')}\nprint("x" * 9000)\n`;
    model.enqueue('agent', {
      tool: 'edit_script',
      args: { script_name: 'train.py', edit_instruction: 'print more', save_name: 'train.py' },
    });
    model.enqueue('edited_script', { content: JSON.stringify({ content: noisy }) });
    model.enqueue('agent', {
      tool: 'execute_script',
      args: { script_name: 'train.py' },
      thought: 'Research Plan and Status: 1. run the starter to see its output (in progress).',
    });
    model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: 'raise SystemExit(1)\n' } });
    model.enqueue('agent', {
      tool: 'edit_script',
      args: { script_name: 'train.py', edit_instruction: 'break it', save_name: 'train.py' },
    });
    model.enqueue('edited_script', { content: JSON.stringify({ content: 'raise SystemExit(1)\n' }) });
    model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'done' } });
    const before = model.requestsFor('agent').length;
    const res = await post({
      tasks: ['breast-cancer'],
      profile: 'mlab',
      runsPerTask: 1,
      validationSeeds: 4,
      budget: { usd: 10 },
    });
    expect(res.statusCode).toBe(201);
    const view = await completed(res.json().id);
    expect(view).toMatchObject({ status: 'completed', profile: 'mlab' });
    const [run] = (await get(`/v1/runs?campaignId=${view.id}`)).items;
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/the candidate failed 1 times/);
    expect(view.results.tasks[0]).toMatchObject({ runs: 1, successes: 0, verdicts: { none: 1 } });
    // The agent's failure, in upstream's denominator, recorded by its type (not guessed from nothing).
    expect(view.results.tasks[0].ends).toMatchObject({ agent: 1 });
    const failed = await h.pool.query('SELECT error_type FROM runs WHERE id = $1', [run.id]);
    expect(failed.rows[0].error_type).toBe('ExperimentFailed');
    // mlab's baseline is the mean of three executions of the starter, at seeds 0, 1 and 2: measured, or (here)
    // found cached from the copilot benchmark above (same task fingerprint, code and seed), and recorded either way.
    const baselineEvents = await h.pool.query(
      `SELECT (data->>'seed')::int AS seed FROM run_events
       WHERE run_id = $1 AND type = 'experiment' AND data->>'role' = 'baseline' ORDER BY 1`,
      [run.id],
    );
    expect(baselineEvents.rows.map((r) => r.seed)).toEqual([0, 1, 2]);

    const requests = model.requestsFor('agent').slice(before);
    const offered = (requests[0]!.body.tools as Array<{ function: { name: string } }>).map((t) => t.function.name);
    expect(offered.sort()).toEqual([
      'copy_file',
      'edit_script',
      'execute_script',
      'final_answer',
      'inspect_script_lines',
      'list_files',
      'understand_file',
      'undo_edit_script',
    ]);
    // write_file is not among them: calling it anyway is an unknown tool, recorded as such.
    const steps = (await get(`/v1/runs/${run.id}/steps`)).items;
    expect(steps.find((s: Json) => s.tool === 'write_file').observation).toMatch(/unknown tool write_file/);
    // The long output was summarised for the next steps; at most 3 steps were ever shown in full.
    expect(model.requestsFor('observation_summary').length).toBeGreaterThan(0);
    const last = requests[requests.length - 1]!.messages;
    expect(last.filter((m) => m.role === 'tool').length).toBeLessThanOrEqual(3);
    expect(last.map((m) => m.content ?? '').join('\n')).toContain('[Summary of a');
    // The model's own text of a step in context is shown back to it, as upstream's agent keeps its plan.
    const next = requests[2]!.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
    expect(next).toContain('Research Plan and Status: 1. run the starter to see its output (in progress).');
  }, 300_000);

  it("ends an mlab agent's turn when its working time is spent, its running script included, and measures what it left", async () => {
    model.enqueue('agent', {
      tool: 'edit_script',
      args: { script_name: 'slow.py', edit_instruction: 'wait', save_name: 'slow.py' },
    });
    model.enqueue('edited_script', { content: JSON.stringify({ content: 'import time\ntime.sleep(600)\n' }) });
    model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'slow.py' } });
    const before = model.requestsFor('agent').length;
    const over = await post({ tasks: ['breast-cancer'], agentTimeLimitSeconds: 0, budget: { usd: 1 } });
    expect(over.statusCode).toBe(400);
    const res = await post({
      tasks: ['breast-cancer'],
      profile: 'mlab',
      runsPerTask: 1,
      validationSeeds: 4,
      agentTimeLimitSeconds: 3,
      budget: { usd: 10 },
    });
    expect(res.statusCode).toBe(201);
    const view = await completed(res.json().id);
    expect(view.status).toBe('completed');
    const [run] = (await get(`/v1/runs?campaignId=${view.id}`)).items;
    // The script would sleep ten minutes: it was stopped when the agent's 3 s were spent (the edit before it
    // counted too), not at the 10-minute default, and the agent was asked for no further step.
    const steps = (await get(`/v1/runs/${run.id}/steps`)).items;
    expect(steps.map((s: Json) => s.tool)).toEqual(['edit_script', 'execute_script']);
    expect(steps[1].observation).toMatch(/ran out of its time limit/);
    expect(model.requestsFor('agent').length - before).toBe(2);
    const agent = await h.pool.query(
      `SELECT status, duration_ms FROM experiments WHERE run_id = $1 AND role = 'agent'`,
      [run.id],
    );
    expect(agent.rows).toEqual([{ status: 'timeout', duration_ms: expect.any(Number) }]);
    expect(agent.rows[0].duration_ms).toBeLessThan(3000 + 5000);
    // As upstream at its time limit: what the agent left is measured (train.py, untouched, is the starter).
    // (Its baselines may be found cached from the runs above: the run's events record them either way.)
    const roles = await h.pool.query(
      `SELECT DISTINCT data->>'role' AS role FROM run_events
       WHERE run_id = $1 AND type = 'experiment' AND data->>'role' <> 'agent' ORDER BY 1`,
      [run.id],
    );
    expect(roles.rows.map((r) => r.role)).toEqual(['baseline', 'candidate']);
    expect(run.status).toBe('succeeded');
  }, 300_000);
});

import fs from 'node:fs';
import path from 'node:path';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { createRun, createTaskRun, getRun, submitPaper, waitForStatus } from '../support/api';
import { BUGGY_TRAIN, SCALED_TRAIN } from '../support/train-scripts';
import { ROOT } from '../support/paths';

let model: FakeModel;
let h: Harness;
let paperId: string;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl, MLR_MAX_DEBUG_ITERATIONS: '2', MLR_AGENT_MAX_STEPS: '12' });
  await h.startWorker();
  paperId = await submitPaper(h.app);
});
afterAll(async () => {
  await h.close();
  await model.close();
});

const experimentRun = (body: Record<string, unknown> = {}) =>
  createRun(h.app, { paperId, mode: 'autonomous', ideaCount: 1, until: 'measured', taskId: 'breast-cancer', ...body });

const agentSays = (...calls: Array<[string, Record<string, unknown> | string]>) => {
  for (const [tool, args] of calls) model.enqueue('agent', { tool, args });
};

describe('the experiment stage', () => {
  it('measures a planted bug, hands its error to the agent, and succeeds once the agent fixes it', async () => {
    agentSays(
      ['write_file', { file_name: 'train.py', content: BUGGY_TRAIN }],
      ['final_answer', { final_answer: 'Scaled the features.' }],
    );
    // After the failed execution: the fix, a check run, and the final answer.
    agentSays(
      ['edit_script', { script_name: 'train.py', edit_instruction: 'fix the typo', save_name: 'train.py' }],
      ['execute_script', { script_name: 'train.py' }],
      ['final_answer', { final_answer: 'Fixed the typo.' }],
    );
    model.enqueue('edited_script', { content: JSON.stringify({ content: SCALED_TRAIN }) });
    const before = model.requestsFor('agent').length;

    const run = await experimentRun();
    const done = await waitForStatus(h.app, run.id, 'succeeded', 120_000);

    const agentRequests = model.requestsFor('agent').slice(before);
    expect(agentRequests).toHaveLength(5);
    const sawError = agentRequests[2]!.messages.map((m) => m.content ?? '').join('\n');
    expect(sawError).toContain('The candidate execution failed');
    expect(sawError).toContain("NameError: name 'StandardScalr' is not defined");
    expect(agentRequests[0]!.messages.map((m) => m.content ?? '').join('\n')).not.toContain('NameError');

    const statuses = (
      await h.pool.query(
        `SELECT data->>'status' AS s FROM run_events WHERE run_id = $1 AND type = 'status' ORDER BY id`,
        [run.id],
      )
    ).rows.map((r) => r.s);
    expect(statuses.slice(statuses.indexOf('approved'))).toEqual([
      'approved',
      'implementing',
      'executing',
      'debugging',
      'executing',
      'succeeded',
    ]);

    const roles = done.experiments.map(
      (e: { role: string; status: string; attempt: number }) => `${e.role}:${e.attempt}:${e.status}`,
    );
    // The agent's own execution (step 3) is part of the run's record, between the two candidates.
    expect(roles).toEqual(['baseline:0:succeeded', 'candidate:1:failed', 'agent:3:succeeded', 'candidate:2:succeeded']);
    const [baseline, failed, , fixed] = done.experiments;
    expect(failed.logTail).toContain('StandardScalr');
    expect(fixed.codeHash).not.toBe(baseline.codeHash);
    expect(done.result).toMatchObject({
      metric: 'accuracy',
      direction: 'max',
      baseline: baseline.metrics.accuracy,
      value: fixed.metrics.accuracy,
    });
    expect(done.result.improvement).toBeCloseTo(fixed.metrics.accuracy - baseline.metrics.accuracy, 10);
    expect(done.result.improvement).toBeGreaterThan(0);

    // The agent's own execute_script run is recorded too, under role agent with its step as attempt.
    const agentRuns = (
      await h.pool.query(`SELECT id, status, attempt FROM experiments WHERE run_id = $1 AND role = 'agent'`, [run.id])
    ).rows;
    expect(agentRuns.map((r) => [r.status, r.attempt])).toEqual([['succeeded', 3]]);
    const agentLog = await h.app.inject({
      method: 'GET',
      url: `/v1/runs/${run.id}/experiments/${agentRuns[0].id}/log`,
      headers: AUTH,
    });
    expect(agentLog.body).toContain('val_accuracy');
    const log = await h.app.inject({
      method: 'GET',
      url: `/v1/runs/${run.id}/experiments/${failed.id}/log`,
      headers: AUTH,
    });
    expect(log.statusCode).toBe(200);
    expect(log.body).toContain("NameError: name 'StandardScalr' is not defined");
    const ws = (await h.app.inject({ method: 'GET', url: `/v1/runs/${run.id}/workspace`, headers: AUTH })).json();
    expect(ws.codeHash).toBe(fixed.codeHash);
    expect(ws.diff).toContain('+from sklearn.preprocessing import StandardScaler');
    expect(ws.files.map((f: { path: string }) => f.path)).toContain('train.py');

    // The trajectory, paged: each step's tool and arguments, its observation, and the execution it ran.
    const page1 = (
      await h.app.inject({ method: 'GET', url: `/v1/runs/${run.id}/steps?limit=3`, headers: AUTH })
    ).json();
    expect(page1.items.map((s: { tool: string }) => s.tool)).toEqual(['write_file', 'final_answer', 'edit_script']);
    expect(page1.items[0]).toMatchObject({
      step: expect.any(Number),
      args: { file_name: 'train.py' },
      experimentId: null,
      createdAt: expect.any(String),
    });
    const page2 = (
      await h.app.inject({ method: 'GET', url: `/v1/runs/${run.id}/steps?after=${page1.nextAfter}`, headers: AUTH })
    ).json();
    expect(page2.items.map((s: { tool: string }) => s.tool)).toEqual(['execute_script', 'final_answer']);
    // The agent reads its script's output, never the harness's score on the hidden test split.
    expect(page2.items[0].observation).not.toMatch(/Measured/);
    expect(page2.items[0]).toMatchObject({
      experimentId: agentRuns[0].id,
      experimentStatus: 'succeeded',
      observation: expect.stringContaining('val_accuracy'),
    });
    expect(page2.nextAfter).toBeNull();
  });

  it('runs the starter code as the candidate when the agent changes nothing, and reuses the cached baseline', async () => {
    const first = await waitForStatus(h.app, (await experimentRun()).id, 'succeeded', 120_000);
    expect(first.result.improvement).toBe(0);
    expect(first.experiments[0].role).toBe('baseline');
    const { rows } = await h.pool.query(`SELECT count(*)::int AS n FROM experiments WHERE role = 'baseline'`);
    expect(rows[0].n).toBe(1);
  });

  it('lets the model choose the task when the request pins none', async () => {
    const run = await experimentRun({ taskId: undefined });
    const done = await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    expect(done.taskId).toBe('breast-cancer');
    const choice = model.requestsFor('task_choice').at(-1)!;
    expect(JSON.stringify(choice.body.response_format)).toContain('synthetic-sentiment');
  });

  it('answers invalid tool calls with an error observation and goes on', async () => {
    agentSays(
      ['no_such_tool', {}],
      ['read_file', '{"file_name": 3}'],
      ['read_file', { file_name: '../../etc/passwd' }],
      ['write_file', { file_name: 'train.py/inside-a-file.py', content: 'x' }],
      ['final_answer', { final_answer: 'done' }],
    );
    const run = await experimentRun();
    await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    const steps = (
      await h.pool.query('SELECT tool, observation FROM agent_steps WHERE run_id = $1 ORDER BY step', [run.id])
    ).rows;
    expect(steps.map((s) => s.tool)).toEqual(['no_such_tool', 'read_file', 'read_file', 'write_file', 'final_answer']);
    expect(steps[0].observation).toMatch(/unknown tool no_such_tool/);
    expect(steps[1].observation).toMatch(/invalid arguments for read_file/);
    expect(steps[2].observation).toMatch(/outside the workspace/);
    // An ordinary filesystem error is an observation too, not a failed (and retried) activity.
    expect(steps[3].observation).toMatch(/^Error: E(NOTDIR|EXIST): the file operation failed/);
  });

  it("tells the agent only its script's output and exit status, never what the scorer made of it", async () => {
    agentSays(
      ['write_file', { file_name: 'quiet.py', content: 'print("ran, wrote nothing")\n' }],
      ['execute_script', { script_name: 'quiet.py' }],
      ['write_file', { file_name: 'broken.py', content: 'raise SystemExit(3)\n' }],
      ['execute_script', { script_name: 'broken.py' }],
      ['write_file', { file_name: 'spoil.py', content: 'open("data/test.csv", "a").write("x")\n' }],
      ['execute_script', { script_name: 'spoil.py' }],
      ['final_answer', { final_answer: 'done' }],
    );
    const run = await experimentRun();
    await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    const steps = (
      await h.pool.query(
        `SELECT observation FROM agent_steps WHERE run_id = $1 AND tool = 'execute_script' ORDER BY step`,
        [run.id],
      )
    ).rows.map((r) => r.observation as string);
    expect(steps[0]).toMatch(/^The script ran in \d+ ms \(exit status 0\)\. Output:\n[\s\S]*ran, wrote nothing/);
    expect(steps[1]).toMatch(/^The script exited with status 3\. Output:/);
    // A read-only violation is the agent's to know (it names files, not a score), though the script exited 0.
    expect(steps[2]).toMatch(/^The script changed read-only files \(data\/test\.csv\); they must stay as given\./);
    for (const o of steps) expect(o).not.toMatch(/missing metric|submission|eval\.py|accuracy/);
  });

  it('measures the entry point the agent names in its final answer, and refuses one that is not there', async () => {
    agentSays(
      ['write_file', { file_name: 'train_v2.py', content: SCALED_TRAIN }],
      ['final_answer', { final_answer: 'The scaled model is in train_v2.py.', entry_point: 'train_v3.py' }],
      ['final_answer', { final_answer: 'The scaled model is in train_v2.py.', entry_point: 'train_v2.py' }],
    );
    const run = await experimentRun();
    const done = await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    const steps = (
      await h.pool.query('SELECT tool, observation FROM agent_steps WHERE run_id = $1 ORDER BY step', [run.id])
    ).rows;
    // The first final answer named a script that does not exist: refused, and the run went on.
    expect(steps.map((s) => s.tool)).toEqual(['write_file', 'final_answer', 'final_answer']);
    expect(steps[1].observation).toMatch(/entry_point train_v3.py cannot be measured/);
    const candidate = done.experiments.find((e: { role: string }) => e.role === 'candidate');
    const baseline = done.experiments.find((e: { role: string }) => e.role === 'baseline');
    expect([baseline.script, candidate.script]).toEqual(['train.py', 'train_v2.py']);
    // train.py is still the starter: the measured gain is train_v2.py's own.
    expect(done.result.value).toBeGreaterThan(done.result.baseline);
  });

  it('reads a long file for understand_file in blocks, then combines what each block says', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => `${i},${i * 2}`).join('\n'); // about 23,000 characters
    agentSays(
      ['write_file', { file_name: 'table.csv', content: rows }],
      ['understand_file', { file_name: 'table.csv', things_to_look_for: 'what the columns hold' }],
      ['final_answer', { final_answer: 'done', entry_point: null }],
    );
    const before = model.requestsFor('file_description').length;
    const run = await experimentRun();
    await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    const asked = model.requestsFor('file_description').slice(before);
    // Three blocks of 10,000 characters, each described, then one call that combines them.
    expect(asked).toHaveLength(4);
    expect(asked[2]!.messages[0]!.content).toContain('characters 20001-');
    expect(asked[3]!.messages[0]!.content).toMatch(/Descriptions of consecutive parts of table\.csv/);
    const step = (
      await h.pool.query(`SELECT observation FROM agent_steps WHERE run_id = $1 AND tool = 'understand_file'`, [run.id])
    ).rows[0];
    expect(step.observation).toBe('A file of rows of numbers.');
  });

  it('measures the candidate from its stored snapshot, not from what earlier executions left behind', async () => {
    const starter = fs.readFileSync(path.join(ROOT, 'tasks/breast-cancer/env/train.py'), 'utf8');
    agentSays(
      ['write_file', { file_name: 'make_leftover.py', content: 'open("leftover.bin", "w").write("cached")\n' }],
      ['execute_script', { script_name: 'make_leftover.py' }],
      [
        'write_file',
        {
          file_name: 'train.py',
          content: `${starter}\nimport os\nprint("leftover", os.path.exists("leftover.bin"))\n`,
        },
      ],
      ['final_answer', { final_answer: 'done' }],
    );
    const run = await experimentRun();
    const done = await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    const candidate = done.experiments.find((e: { role: string }) => e.role === 'candidate');
    expect(candidate.logTail).toContain('leftover False');
    expect(fs.existsSync(path.join(h.config.MLR_DATA_DIR, 'workspaces', run.id, 'leftover.bin'))).toBe(true);
  });

  it('never scores a submission.csv that the measured execution did not write', async () => {
    const rows = Array.from({ length: 200 }, () => '1').join('\n');
    agentSays(
      ['write_file', { file_name: 'submission.csv', content: `target\n${rows}\n` }],
      ['write_file', { file_name: 'train.py', content: 'print("no model, no predictions")\n' }],
      ['final_answer', { final_answer: 'done' }],
    );
    const run = await experimentRun({ until: 'measured' });
    const done = await waitForStatus(h.app, run.id, 'failed', 120_000);
    expect(done.error).toMatch(/missing metric/);
    expect(done.result).toBeNull();
  });

  it('fails with the reason after the debug iterations are spent', async () => {
    for (let i = 0; i < 3; i++)
      agentSays(
        ['write_file', { file_name: 'train.py', content: BUGGY_TRAIN }],
        ['final_answer', { final_answer: 'try' }],
      );
    const run = await experimentRun();
    const done = await waitForStatus(h.app, run.id, 'failed', 120_000);
    expect(done.error).toMatch(/the candidate failed 3 times; last attempt 3 failed: exit code 1/);
  });

  it('stops at once, without debug iterations, when the candidate rewrites read-only data', async () => {
    const tamper =
      'import pandas as pd\npd.DataFrame({"a": [1]}).to_csv("data/train.csv", index=False)\n' + SCALED_TRAIN;
    agentSays(
      ['write_file', { file_name: 'train.py', content: tamper }],
      ['final_answer', { final_answer: 'tampered' }],
    );
    const run = await experimentRun();
    const done = await waitForStatus(h.app, run.id, 'failed', 120_000);
    expect(done.error).toBe('sandbox violation: the candidate changed read-only files: data/train.csv');
    expect(done.experiments.filter((e: { role: string }) => e.role === 'candidate')).toHaveLength(1);
  });

  it('passes feedback to the next step, and holds the agent while paused', async () => {
    agentSays(
      ['list_files', { dir_path: '.' }],
      ['list_files', { dir_path: 'data' }],
      ['final_answer', { final_answer: 'done' }],
    );
    const before = model.requestsFor('agent').length;
    const run = await experimentRun();
    await model.waitFor('agent', before + 1);
    expect((await h.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/pause`, headers: AUTH })).statusCode).toBe(
      202,
    );
    expect((await h.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/pause`, headers: AUTH })).statusCode).toBe(
      409,
    );
    const fb = await h.app.inject({
      method: 'POST',
      url: `/v1/runs/${run.id}/feedback`,
      headers: AUTH,
      payload: { message: 'Try a standard scaler first.' },
    });
    expect(fb.statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, 1500));
    const whilePaused = model.requestsFor('agent').length;
    expect(whilePaused).toBeLessThanOrEqual(before + 2); // at most the step already in flight
    expect((await getRun(h.app, run.id)).paused).toBe(true);
    expect((await h.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/resume`, headers: AUTH })).statusCode).toBe(
      202,
    );
    await waitForStatus(h.app, run.id, 'succeeded', 120_000);
    const later = model.requestsFor('agent').slice(whilePaused);
    expect(
      later.some((r) =>
        r.messages.some((m) =>
          (m.content ?? '').includes('Feedback from the researcher: Try a standard scaler first.'),
        ),
      ),
    ).toBe(true);
    const events = (
      await h.pool.query(
        `SELECT type FROM run_events WHERE run_id = $1 AND type IN ('paused', 'resumed', 'feedback') ORDER BY id`,
        [run.id],
      )
    ).rows.map((r) => r.type);
    expect(events).toEqual(expect.arrayContaining(['paused', 'resumed', 'feedback']));
  });

  it('refuses feedback outside the experiment stage and unknown tasks', async () => {
    const waiting = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, waiting.id, 'awaiting_approval');
    const fb = await h.app.inject({
      method: 'POST',
      url: `/v1/runs/${waiting.id}/feedback`,
      headers: AUTH,
      payload: { message: 'hi' },
    });
    expect([fb.statusCode, fb.json().error.code]).toEqual([409, 'NotExperimenting']);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: AUTH,
      payload: { paperId, taskId: 'nope' },
    });
    expect([bad.statusCode, bad.json().error.code]).toEqual([422, 'UnknownTask']);
  });
});

describe('the token budget', () => {
  it('parks the run in awaiting_budget before a call would overrun its tokens, and a top-up lets it finish', async () => {
    const tight = await createHarness({
      OPENAI_BASE_URL: model.baseUrl,
      // Each call reserves its prompt's estimate plus 2000 tokens for the reply: the budget holds one call at
      // most (the fake model then reports 150), so the run parks within its first two calls.
      MLR_RUN_MAX_TOKENS: '2500',
      MLR_MODEL_RESERVE_TOKENS: '2000',
    });
    try {
      await tight.startWorker();
      const pid = await submitPaper(tight.app);
      for (let i = 0; i < 5; i++) model.enqueue('agent', { tool: 'list_files', args: { dir_path: '.' } });
      const run = await createRun(tight.app, {
        paperId: pid,
        mode: 'autonomous',
        ideaCount: 1,
        until: 'measured',
        taskId: 'breast-cancer',
      });
      const parked = await waitForStatus(tight.app, run.id, 'awaiting_budget', 120_000);
      expect(parked.error).toMatch(/the run's tokens budget is spent: \d+ of 2500 committed/);
      // Nothing was spent past the budget: the refused call was never made.
      expect(parked.spend.tokens).toBeLessThanOrEqual(2500);
      expect(parked.budget).toBeNull();
      const bad = await tight.app.inject({
        method: 'POST',
        url: `/v1/runs/${run.id}/budget`,
        headers: AUTH,
        payload: { tokens: 0 },
      });
      expect(bad.statusCode).toBe(400);
      const topped = await tight.app.inject({
        method: 'POST',
        url: `/v1/runs/${run.id}/budget`,
        headers: AUTH,
        payload: { tokens: 1_000_000 },
      });
      expect(topped.statusCode).toBe(200);
      expect(topped.json().budget.tokens).toBe(1_002_500);
      const done = await waitForStatus(tight.app, run.id, 'succeeded', 120_000);
      expect(done.result).not.toBeNull();
      expect(done.error).toBeNull();
      // Stopped while parked for money: recorded as a budget stop, which benchmark accounting keeps apart.
      for (let i = 0; i < 5; i++) model.enqueue('agent', { tool: 'list_files', args: { dir_path: '.' } });
      const stopped = await createTaskRun(tight.app, pid);
      await waitForStatus(tight.app, stopped.id, 'awaiting_budget', 120_000);
      const cancel = await tight.app.inject({ method: 'POST', url: `/v1/runs/${stopped.id}/cancel`, headers: AUTH });
      expect(cancel.statusCode).toBe(202);
      await waitForStatus(tight.app, stopped.id, 'cancelled', 60_000);
      const row = await tight.pool.query('SELECT error_type FROM runs WHERE id = $1', [stopped.id]);
      expect(row.rows[0].error_type).toBe('BudgetExhausted');
    } finally {
      await tight.close();
    }
  });
});

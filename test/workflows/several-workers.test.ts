// Three worker processes with disks of their own, sharing only Postgres, Temporal and a real S3 server. Killed
// with SIGKILL in turn (during an agent step, during an execution) or stalled with SIGSTOP, the run ends as it
// would on one worker: nothing the agent committed is lost, no model call or execution is billed twice, and a
// stalled attempt that lost its step never commits it.
import fs from 'node:fs';
import path from 'node:path';
import { startFakeModel, type FakeModel, type FakeReply, type RecordedRequest } from '../support/fake-model';
import { createHarness, type Harness } from '../support/harness';
import { createRun, submitPaper, waitForStatus } from '../support/api';
import { TEST_DATA } from '../support/paths';
import { SCALED_TRAIN } from '../support/train-scripts';
import { startS3, type S3Server } from '../support/s3';
import { workerPool, type WorkerPool } from '../support/worker-pool';

let model: FakeModel;
let s3: S3Server;
let h: Harness;
let paperId: string;
const root = path.join(TEST_DATA, 'several-workers');
let pool: WorkerPool;

beforeAll(async () => {
  fs.rmSync(root, { recursive: true, force: true });
  s3 = await startS3(root);
  model = await startFakeModel();
  h = await createHarness({ ...s3.env, OPENAI_BASE_URL: model.baseUrl, MLR_AGENT_MAX_STEPS: '10' });
  paperId = await submitPaper(h.app);
  pool = workerPool(h, model, s3, root);
  for (let i = 0; i < 3; i++) pool.spawn();
}, 600_000);
afterAll(async () => {
  await pool.close();
  await h.close();
  await model.close();
  await s3.stop();
});

/** The agent's step a request is for: the tool results it already has. */
const stepOf = (req: RecordedRequest) => req.messages.filter((m) => m.role === 'tool').length;
const tool = (name: string, args: Record<string, unknown>): FakeReply => ({ tool: name, args });

const run = () =>
  createRun(h.app, { paperId, mode: 'autonomous', ideaCount: 1, until: 'measured', taskId: 'breast-cancer' });

async function untilTrue(check: () => Promise<boolean>, what: string, tries = 1200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}`);
}

/** What every run here must end with: measured, its candidate the code its last step committed, nothing twice. */
async function expectWhole(
  runId: string,
  { stalled = false } = {},
): Promise<Array<{ tool: string; observation: string }>> {
  const steps = (
    await h.pool.query('SELECT tool, observation, code_hash FROM agent_steps WHERE run_id = $1 ORDER BY step', [runId])
  ).rows;
  expect(steps.map((s) => s.observation).join('\n')).not.toContain('does not exist');
  const candidate = (
    await h.pool.query("SELECT code_hash FROM experiments WHERE run_id = $1 AND role = 'candidate'", [runId])
  ).rows;
  // The measured candidate and every validation seed of it: the code the last step committed.
  expect([...new Set(candidate.map((c) => c.code_hash))]).toEqual([steps.at(-1)!.code_hash]);
  const twice = await h.pool.query(
    `SELECT call_key, count(*) FROM llm_calls WHERE run_id = $1 AND status = 'ok'
     GROUP BY call_key HAVING count(*) > 1`,
    [runId],
  );
  // A stalled attempt's model call was made and paid for: it is recorded, once more, as spent.
  if (!stalled) expect(twice.rows).toEqual([]);
  const executedTwice = await h.pool.query(
    'SELECT exec_key, count(*) FROM experiments WHERE run_id = $1 GROUP BY exec_key HAVING count(*) > 1',
    [runId],
  );
  expect(executedTwice.rows).toEqual([]);
  return steps;
}

describe('three workers, killed in turn', () => {
  it('ends the run as on one worker when the worker of an agent step, then of an execution, is killed', async () => {
    let held: ((via: string) => void) | undefined;
    const heldBy = new Promise<string>((r) => (held = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const SLOW = 'import time\ntime.sleep(6)\nprint("slow ok")\n';
    model.respond('agent', (req) => {
      const steps: FakeReply[] = [
        tool('write_file', { file_name: 'check.py', content: 'print("check ok")\n' }),
        tool('execute_script', { script_name: 'check.py' }),
        tool('write_file', { file_name: 'slow.py', content: SLOW }),
        tool('execute_script', { script_name: 'slow.py' }),
        tool('execute_script', { script_name: 'check.py' }),
        tool('final_answer', { final_answer: 'Added checks.' }),
      ];
      const step = stepOf(req);
      // The first request for step 1 is held, and its worker killed while it waits.
      if (step === 1 && held) {
        held(req.via.slice(1));
        held = undefined;
        return { after: gate, then: steps[1]! };
      }
      return steps[step];
    });
    const r = await run();
    const holder = await heldBy;
    await pool.kill(holder);
    open();
    pool.spawn(); // a replacement, with an empty disk
    // The slow script's execution is under way on some worker: that one is killed next.
    let runner: string | undefined;
    await untilTrue(async () => {
      const { rows } = await h.pool.query(
        "SELECT 1 FROM experiments WHERE run_id = $1 AND role = 'agent' AND status = 'running'",
        [r.id],
      );
      runner = [...pool.workers].find(([, w]) => {
        const dir = path.join(w.dir, 'executor');
        return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.pgid'));
      })?.[0];
      return rows.length > 0 && runner !== undefined;
    }, 'the slow execution');
    await pool.kill(runner!);
    pool.spawn();
    await waitForStatus(h.app, r.id, 'succeeded', 300_000);
    const steps = await expectWhole(r.id);
    const outputs = steps.filter((s) => s.tool === 'execute_script').map((s) => s.observation);
    expect(outputs).toHaveLength(3);
    expect(outputs[0]).toContain('check ok');
    expect(outputs[1]).toContain('slow ok');
    expect(outputs[2]).toContain('check ok');
    model.respond('agent', () => undefined);
  }, 600_000);

  it('ends validation with every seed measured once, when the worker of a validation seed is killed', async () => {
    const slow = SCALED_TRAIN.replace('import json\n', 'import json\nimport time\ntime.sleep(4)\n');
    model.respond('agent', (req) =>
      stepOf(req) === 0
        ? tool('write_file', { file_name: 'train.py', content: slow })
        : tool('final_answer', { final_answer: 'Scaled, slowly.' }),
    );
    const r = await createRun(h.app, {
      paperId,
      mode: 'autonomous',
      ideaCount: 1,
      until: 'succeeded',
      taskId: 'breast-cancer',
      validationSeeds: 4,
    });
    let runner: string | undefined;
    await untilTrue(
      async () => {
        const { rows } = await h.pool.query(
          "SELECT 1 FROM experiments WHERE run_id = $1 AND exec_key LIKE '%:validate:%' AND status = 'running'",
          [r.id],
        );
        runner = [...pool.workers].find(([, w]) => {
          const dir = path.join(w.dir, 'executor');
          return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.pgid'));
        })?.[0];
        return rows.length > 0 && runner !== undefined;
      },
      'a validation seed running',
      3000,
    );
    await pool.kill(runner!);
    pool.spawn();
    const done = await waitForStatus(h.app, r.id, 'succeeded', 400_000);
    expect(done.validation.seeds).toHaveLength(4);
    await expectWhole(r.id);
    model.respond('agent', () => undefined);
  }, 600_000);

  it('fences a stalled worker: the step it held is done by another, and its late work is never committed', async () => {
    let held: ((via: string) => void) | undefined;
    const heldBy = new Promise<string>((r) => (held = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    model.respond('agent', (req) => {
      const step = stepOf(req);
      if (step === 0) return tool('write_file', { file_name: 'check.py', content: 'print("check ok")\n' });
      if (step === 1 && held) {
        // The stalled worker's answer: a file that must never reach the committed copy.
        held(req.via.slice(1));
        held = undefined;
        return { after: gate, then: tool('write_file', { file_name: 'stale.py', content: 'print("stale")\n' }) };
      }
      if (step === 1) return tool('write_file', { file_name: 'fresh.py', content: 'print("fresh")\n' });
      if (step === 2) return tool('execute_script', { script_name: 'check.py' });
      return tool('final_answer', { final_answer: 'Done.' });
    });
    const r = await run();
    const holder = await heldBy;
    const stalled = pool.workers.get(holder)!;
    stalled.proc.kill('SIGSTOP');
    // Another worker takes the step over once the stalled one misses its heartbeats.
    await untilTrue(async () => {
      const { rows } = await h.pool.query('SELECT observation FROM agent_steps WHERE run_id = $1 AND step = 1', [r.id]);
      return rows[0]?.observation != null;
    }, 'step 1 done by another worker');
    open();
    stalled.proc.kill('SIGCONT');
    await waitForStatus(h.app, r.id, 'succeeded', 300_000);
    await expectWhole(r.id, { stalled: true });
    const { rows } = await h.pool.query(
      `SELECT w.files FROM working_states w
       JOIN agent_steps s ON s.run_id = w.run_id AND s.state_hash = w.state_hash WHERE s.run_id = $1`,
      [r.id],
    );
    for (const row of rows) expect(Object.keys(row.files)).not.toContain('stale.py');
    expect(Object.keys(rows.at(-1)!.files)).toContain('fresh.py');
    model.respond('agent', () => undefined);
  }, 600_000);
});

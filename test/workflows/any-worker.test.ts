// Any worker carries any run: a run's working copy lives in Postgres and the object store (a real S3 server),
// so a worker whose disk lost it, or another worker with a disk of its own, carries the run on from the last
// committed step, and what is measured is exactly what the agent last committed.
import fs from 'node:fs';
import path from 'node:path';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { createHarness, type Harness } from '../support/harness';
import { createTaskRun, submitPaper, waitForStatus } from '../support/api';
import { TEST_DATA } from '../support/paths';
import { startS3, type S3Server } from '../support/s3';

let model: FakeModel;
let s3: S3Server;
let h: Harness;
let paperId: string;
const root = path.join(TEST_DATA, 'any-worker');

beforeAll(async () => {
  fs.rmSync(root, { recursive: true, force: true });
  s3 = await startS3(root);
  model = await startFakeModel();
  h = await createHarness({ ...s3.env, OPENAI_BASE_URL: model.baseUrl, MLR_AGENT_MAX_STEPS: '8' });
  paperId = await submitPaper(h.app);
}, 600_000);
afterAll(async () => {
  await h.close();
  await model.close();
  await s3.stop();
});

const CHECK = 'print("check ok")\n';

/** The agent writes check.py and runs it; its third step is held until `gate` resolves; two more runs follow. */
function scriptAgent(gate: Promise<unknown>): void {
  model.enqueue('agent', { tool: 'write_file', args: { file_name: 'check.py', content: CHECK } });
  model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'check.py' } });
  model.enqueue('agent', { after: gate, then: { tool: 'execute_script', args: { script_name: 'check.py' } } });
  model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'check.py' } });
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Added a check.' } });
}

/** Every step's observation, and the candidate measured against the state the last step committed. */
async function expectCarriedOn(runId: string): Promise<void> {
  const steps = (
    await h.pool.query('SELECT tool, observation, code_hash FROM agent_steps WHERE run_id = $1 ORDER BY step', [runId])
  ).rows;
  const runs = steps.filter((s) => s.tool === 'execute_script');
  expect(runs).toHaveLength(3);
  for (const s of runs) expect(s.observation).toContain('check ok');
  expect(steps.map((s) => s.observation).join('\n')).not.toContain('does not exist');
  const candidate = (
    await h.pool.query("SELECT code_hash FROM experiments WHERE run_id = $1 AND role = 'candidate'", [runId])
  ).rows;
  expect(candidate.map((c) => c.code_hash)).toEqual([steps.at(-1)!.code_hash]);
}

const release = () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open };
};

/** A run whose agent is held at its third step; `open` lets it go on. */
async function startHeldRun(): Promise<{ run: { id: string }; open: () => void }> {
  const { gate, open } = release();
  scriptAgent(gate);
  const before = model.requestsFor('agent').length;
  const run = await createTaskRun(h.app, paperId);
  await model.waitFor('agent', before + 3);
  return { run, open };
}

describe('a run on several workers', () => {
  it("rebuilds the working copy from the last committed step when a worker's data directory is deleted", async () => {
    const dataDir = path.join(root, 'worker-a');
    const a = await h.startWorker({}, { env: { MLR_DATA_DIR: dataDir } });
    const { run, open } = await startHeldRun();
    // The worker's disk is wiped while the step is held: its copy of the run is gone.
    fs.rmSync(path.join(dataDir, 'workspaces'), { recursive: true, force: true });
    fs.rmSync(path.join(dataDir, 'harness'), { recursive: true, force: true });
    open();
    await waitForStatus(h.app, run.id, 'succeeded', 240_000);
    await expectCarriedOn(run.id);
    await a.stop();
  });

  it('carries a run on on another worker, with a disk of its own, after the first one stops mid-run', async () => {
    const dirA = path.join(root, 'worker-b1');
    const dirB = path.join(root, 'worker-b2');
    const a = await h.startWorker({}, { env: { MLR_DATA_DIR: dirA }, shutdownGraceTime: '2 minutes' });
    const { run, open } = await startHeldRun();
    // The first worker finishes the step it holds and leaves; the second, which never saw the run, goes on.
    const b = await h.startWorker({}, { env: { MLR_DATA_DIR: dirB } });
    const stopping = a.stop();
    open();
    await stopping;
    await waitForStatus(h.app, run.id, 'succeeded', 240_000);
    await expectCarriedOn(run.id);
    expect(fs.existsSync(path.join(dirB, 'workspaces', run.id, 'check.py'))).toBe(true);
    await b.stop();
  });
});

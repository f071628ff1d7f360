// Determinism: workflow code must replay the histories of runs that older code recorded. Histories in
// test/histories/ are committed; set MLR_RECORD_HISTORIES=1 to record them again from a live run.
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, stack, type Harness } from '../support/harness';
import { createRun, createTaskRun, decide, submitPaper, waitForStatus } from '../support/api';
import { workflowIdFor } from '../../src/workflows/definitions';

const HISTORIES = path.join(__dirname, '..', 'histories');
let model: FakeModel;
let h: Harness;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl });
  await h.startWorker();
});
afterAll(async () => {
  await h.close();
  await model.close();
});

const replay = (history: unknown, workflowId: string) =>
  Worker.runReplayHistory(
    { workflowBundle: { codePath: stack().bundlePath } },
    history as Parameters<typeof Worker.runReplayHistory>[1],
    workflowId,
  );

/** Replays the finished run's live history, and records it under test/histories when asked to. */
async function replayLive(runId: string, file: string): Promise<void> {
  const handle = h.client.workflow.getHandle(workflowIdFor(runId));
  await handle.result();
  const history = await handle.fetchHistory();
  await expect(replay(history, handle.workflowId)).resolves.toBeUndefined();
  if (process.env.MLR_RECORD_HISTORIES === '1') fs.writeFileSync(path.join(HISTORIES, file), historyToJSON(history));
}

it('replays a live run that was revised once and then approved', async () => {
  const paperId = await submitPaper(h.app);
  const run = await createRun(h.app, { paperId, ideaCount: 2 });
  await waitForStatus(h.app, run.id, 'awaiting_approval');
  await decide(h.app, run.id, { decision: 'revise', feedback: 'More ambitious, please' });
  await waitForStatus(h.app, run.id, 'awaiting_approval');
  await decide(h.app, run.id, { decision: 'approve' });
  await waitForStatus(h.app, run.id, 'approved');
  await replayLive(run.id, 'revise-then-approve.json');
});

it('replays a live run through the experiment stage with one debug iteration', async () => {
  const paperId = await submitPaper(h.app);
  model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: 'raise SystemExit(3)\n' } });
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'broken' } });
  model.enqueue('agent', { tool: 'undo_edit_script', args: { script_name: 'train.py' } });
  const run = await createTaskRun(h.app, paperId);
  await waitForStatus(h.app, run.id, 'succeeded', 120_000);
  // experiment-with-debug.json holds the same run recorded before one-round-trip steps (two activities a step).
  await replayLive(run.id, 'experiment-one-round-trip-step.json');
}, 180_000);

it('replays a live campaign run that waited for a decision, then for a place in the window', async () => {
  const paperId = await submitPaper(h.app);
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/campaigns',
    headers: AUTH,
    payload: {
      name: 'replay',
      budget: { usd: 100 },
      paperIds: [paperId],
      mode: 'supervised',
      ideaCount: 1,
      until: 'measured',
      taskId: 'breast-cancer',
    },
  });
  expect(res.statusCode).toBe(201);
  const runs = async () =>
    (await h.app.inject({ method: 'GET', url: `/v1/runs?campaignId=${res.json().id}`, headers: AUTH })).json().items;
  let run: { id: string } | undefined;
  for (let i = 0; i < 300 && !run; i++) {
    run = (await runs())[0];
    if (!run) await new Promise((r) => setTimeout(r, 100));
  }
  await waitForStatus(h.app, run!.id, 'awaiting_approval');
  await decide(h.app, run!.id, { decision: 'approve' });
  await waitForStatus(h.app, run!.id, 'succeeded', 120_000);
  await replayLive(run!.id, 'campaign-run-slot.json');
}, 180_000);

const recorded = fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));

it('has recorded histories to replay', () => {
  expect(recorded.length).toBeGreaterThan(0);
});

it.each(recorded)('replays the recorded history %s without a determinism error', async (file) => {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8')));
  await expect(replay(history, file)).resolves.toBeUndefined();
});

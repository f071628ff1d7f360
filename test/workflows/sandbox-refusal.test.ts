// A worker on a host that cannot build the sandbox: the run stops at the first execution with the reason
// and what to do, instead of running experiment code bare or retrying what no retry can fix.
import { createLocalExecutor } from '../../src/experiments/executor/local';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { createHarness, type Harness } from '../support/harness';
import { createTaskRun, submitPaper, waitForStatus } from '../support/api';
import { EXECUTOR_SCRATCH, EXECUTOR_STATE, PYTHON, SANDBOX, TEST_INPUTS } from '../support/experiments';

let model: FakeModel;
let h: Harness;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl });
  const refusal = 'bubblewrap (bwrap) is not installed: install bubblewrap, or set MLR_SANDBOX=none';
  await h.startWorker({
    executor: createLocalExecutor({
      python: PYTHON,
      inputs: TEST_INPUTS,
      scratchDir: EXECUTOR_SCRATCH,
      sandboxScript: SANDBOX,
      store: {
        put: async () => {
          throw new Error('unused');
        },
        get: async () => Buffer.alloc(0),
        uri: (key: string) => `file:${key}`,
      },
      isolationPrefix: [],
      stateDir: EXECUTOR_STATE,
      readOnly: [],
      sandbox: { kind: 'bwrap', dropPrivileges: false, refusal },
    }),
  });
});
afterAll(async () => {
  await h.close();
  await model.close();
});

it('fails the run at once with SandboxUnavailable and the reason, without retrying', async () => {
  const paperId = await submitPaper(h.app);
  const run = await createTaskRun(h.app, paperId);
  const done = await waitForStatus(h.app, run.id, 'failed', 60_000);
  expect(done.error).toMatch(/experiment code cannot run: bubblewrap \(bwrap\) is not installed.*MLR_SANDBOX=none/);
  // Non-retryable: the baseline was attempted once.
  const history = await h.client.workflow.getHandle(`run-${run.id}`).fetchHistory();
  const attempts = (history.events ?? []).filter(
    (e) => e.activityTaskStartedEventAttributes?.attempt && e.activityTaskStartedEventAttributes.attempt > 1,
  );
  expect(attempts).toHaveLength(0);
});

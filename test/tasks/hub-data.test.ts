// Upstream tasks whose data is on the Hub, run unmodified against a mirror: the stand-in Hub serves an
// imdb-shaped dataset, the real `datasets` and huggingface_hub (in the task's own environment) load it when the
// task is prepared, and the experiment and eval.py load it again by id, offline, in the sandbox.
import fs from 'node:fs';
import path from 'node:path';
import { HubError } from '../../src/domain/hub';
import type { ExecutionInputs, TrustedTask } from '../../src/experiments/executor/types';
import { loadTask, prepareTask, TaskRefused, type PreparedTask } from '../../src/tasks/library';
import { UPSTREAM_TASKS } from '../../src/tasks/upstream';
import { execSpec, freshWorkspace, localExecutor, PYTHON, TEST_INPUTS } from '../support/experiments';
import { startFakeHub, type FakeHub } from '../support/fake-hub';
import { IMDB_SHAPED } from '../support/hub-repos';
import { writeImdbTask } from '../support/imdb-task';
import { TEST_DATA } from '../support/paths';

const TASKS = path.join(TEST_DATA, 'hub-data-tasks');
const PREPARED = path.join(TEST_DATA, 'hub-data-prepared');
// The environments of the other tests: torch, which upstream's imdb imports, is installed once.
const ENVS = path.join(TEST_DATA, 'envs');

describe('Hub datasets of a task', () => {
  let hub: FakeHub;
  let sha: string;
  let prepared: PreparedTask;

  beforeAll(async () => {
    hub = await startFakeHub();
    ({ sha } = hub.add(IMDB_SHAPED));
    fs.rmSync(PREPARED, { recursive: true, force: true });
  });
  afterAll(() => hub.close());

  const source = () => ({ endpoint: hub.endpoint, token: 'hf_worker_secret' });

  it('prepares an upstream imdb folder as it is: its own environment, and the dataset at a pinned commit', async () => {
    const task = loadTask(writeImdbTask(TASKS))!;
    expect(task).toMatchObject({ source: 'upstream', metric: 'accuracy', direction: 'max', hubDatasets: ['imdb'] });
    expect(task.envRequirements).toBe(UPSTREAM_TASKS.imdb!.requirements!.join('\n') + '\n');
    prepared = await prepareTask(task, PREPARED, PYTHON, ENVS, undefined, source());
    expect(prepared.hubDatasets).toEqual([{ id: 'imdb', revision: sha }]);
    expect(fs.readdirSync(path.join(prepared.datasetsCache!))).toContain('imdb');
    // The worker's token reached the Hub; the raw downloads were not kept beside the prepared cache.
    expect(hub.authorizations).toContain('Bearer hf_worker_secret');
    expect(fs.existsSync(path.join(prepared.root, '.hf-home'))).toBe(false);
    // Prepared once: the next call asks the Hub nothing, and names the same baseline.
    const asked = hub.requests.length;
    const again = await prepareTask(task, PREPARED, PYTHON, ENVS, undefined, source());
    expect(hub.requests.length).toBe(asked);
    expect(again.fingerprint).toBe(prepared.fingerprint);
  }, 900_000);

  it("runs its train.py and eval.py, which load the dataset by id, offline in the sandbox, and scores them", async () => {
    const trusted: TrustedTask = {
      envDir: prepared.envDir,
      scriptsDir: prepared.scriptsDir,
      readOnlyPatterns: prepared.readOnlyPatterns,
      python: prepared.python!,
      datasetsCache: prepared.datasetsCache!,
    };
    const inputs: ExecutionInputs = { ...TEST_INPUTS, task: async () => trusted };
    const { executor } = await localExecutor(true, undefined, undefined, undefined, inputs);
    const ws = freshWorkspace(prepared, 'imdb');
    const result = await executor.execute(execSpec(prepared, ws, 'train.py', { timeoutMs: 300_000, memoryMb: 4096 }));
    expect([result.status, result.logTail]).toEqual(['succeeded', result.logTail]);
    expect(result.logTail).toContain('train 20 test 10 unsupervised 4');
    // eval.py read the labels from the same dataset: the keyword rule is wrong on one review of ten.
    expect(result.metrics!.accuracy).toBeCloseTo(0.9);

    // Without bubblewrap (MLR_SANDBOX=none) the view is a folder of the execution's own: the same score.
    const bare = (await localExecutor(false, undefined, 'none', undefined, inputs)).executor;
    const unsandboxed = await bare.execute(execSpec(prepared, ws, 'train.py', { timeoutMs: 300_000, memoryMb: 4096 }));
    expect([unsandboxed.status, unsandboxed.metrics?.accuracy]).toEqual(['succeeded', result.metrics!.accuracy]);

    // The experiment reads the cache and cannot change it: every file of it is read-only inside the sandbox.
    ws.writeFile(
      'poison.py',
      [
        'import glob, os',
        'files = [f for f in glob.glob(os.environ["HF_DATASETS_CACHE"] + "/**/*.arrow", recursive=True)]',
        'print("arrow files", len(files))',
        'for f in files:',
        '    try:',
        '        open(f, "ab").write(b"poison")',
        '        print("WROTE", f)',
        '    except OSError as err:',
        '        print("refused", type(err).__name__)',
        'import socket',
        'try:',
        '    socket.create_connection(("127.0.0.1", ' + new URL(hub.endpoint).port + '), timeout=2); print("REACHED")',
        'except OSError:',
        '    print("no network")',
      ].join('\n'),
    );
    const poison = await executor.execute(execSpec(prepared, ws, 'poison.py', { timeoutMs: 120_000 }));
    expect(poison.logTail).toMatch(/arrow files [1-9]/);
    expect(poison.logTail).toContain('refused');
    expect(poison.logTail).not.toContain('WROTE');
    expect(poison.logTail).toContain('no network');
  }, 600_000);

  it('refuses a task whose Hub dataset is missing, saying which; a Hub that is down is worth another attempt', async () => {
    const requirements = UPSTREAM_TASKS.imdb!.requirements!;
    const missing = loadTask(
      writeImdbTask(TASKS, 'reviews-missing', { metric: 'accuracy', direction: 'max', requirements, hubDatasets: ['acme/none'] }),
    )!;
    const refused = await prepareTask(missing, PREPARED, PYTHON, ENVS, undefined, source()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TaskRefused);
    expect((refused as Error).message).toMatch(/dataset acme\/none is not on the Hub/);

    const down = loadTask(
      writeImdbTask(TASKS, 'reviews-down', { metric: 'accuracy', direction: 'max', requirements, hubDatasets: ['imdb'] }),
    )!;
    hub.failNext(1000, 503);
    const failed = await prepareTask(down, PREPARED, PYTHON, ENVS, undefined, source()).catch((e: unknown) => e);
    hub.failNext(0, 503);
    expect(failed).not.toBeInstanceOf(TaskRefused);
    expect(failed).toMatchObject({ kind: 'unavailable' });
    expect(failed).toBeInstanceOf(HubError);
    // Nothing half-prepared was left: the next attempt, with the Hub back, prepares it.
    const later = await prepareTask(down, PREPARED, PYTHON, ENVS, undefined, source());
    expect(later.hubDatasets).toEqual([{ id: 'imdb', revision: sha }]);
  }, 600_000);

  it('refuses a task.json that names something other than a Hub id', () => {
    const dir = writeImdbTask(TASKS, 'reviews-bad', { metric: 'accuracy', direction: 'max', hubDatasets: ['../etc'] });
    expect(() => loadTask(dir)).toThrow(/hubDatasets\.0: not a Hub dataset id/);
  });
});

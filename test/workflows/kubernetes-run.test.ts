// One research run end to end with every experiment as a Kubernetes Job: POST /v1/runs → ideas → the
// agent's tries, baseline and candidate → a validated report, against the real control plane, the real
// object store (logs and blobs in S3 too) and the stand-in kubelet running the real runner.
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { jobName } from '../../src/experiments/executor/kubernetes/job-spec';
import { spawnWorkerProcess } from '../support/worker-process';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { createTaskRun, getRun, submitPaper, waitForStatus } from '../support/api';
import { SCALED_TRAIN } from '../support/train-scripts';
import { k8sEnv, NAMESPACE, startK8sWorld, type K8sWorld } from '../support/k8s';
import { TEST_DATA } from '../support/paths';

let model: FakeModel;
let h: Harness;
let world: K8sWorld;
let worker: { stop(): Promise<void> };

beforeAll(async () => {
  world = await startK8sWorld('run');
  model = await startFakeModel();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    ...k8sEnv(world),
    MLR_VALIDATION_PARALLELISM: '2',
    MLR_EXECUTORS: 'local',
  });
  worker = await h.startWorker();
}, 900_000);
afterAll(async () => {
  await h?.close();
  await model?.close();
  await world?.close();
});

it('takes a paper to a validated report with every experiment run as a Job', async () => {
  const paperId = await submitPaper(h.app);
  model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'train.py' } });
  model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: SCALED_TRAIN } });
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Standardised the features.' } });
  const created = await createTaskRun(h.app, paperId, { until: 'succeeded', validationSeeds: 4 });
  const run = await waitForStatus(h.app, created.id, 'succeeded', 300_000);
  expect(run.validation.verdict).toBeDefined();

  const view = await h.app.inject({ method: 'GET', url: `/v1/runs/${created.id}`, headers: AUTH });
  const experiments = view.json().experiments as Array<{
    role: string;
    status: string;
    executor: string;
    placement: { job: string; node: string };
  }>;
  expect(experiments.length).toBeGreaterThanOrEqual(8); // agent try, baseline, candidate, 3 + 3 seeds (less cached)
  for (const e of experiments) {
    expect(e.executor).toBe('kubernetes');
    expect(e.placement).toMatchObject({ job: expect.stringMatching(/^mlr-exec-/), node: 'kwok-gpu-0' });
  }
  expect(experiments.find((e) => e.role === 'agent')?.status).toBe('succeeded');
  // The logs are served from the object store.
  const agent = view.json().experiments.find((e: { role: string }) => e.role === 'agent');
  const log = await h.app.inject({
    method: 'GET',
    url: `/v1/runs/${created.id}/experiments/${agent.id}/log`,
    headers: AUTH,
  });
  expect(log.statusCode).toBe(200);
  expect(log.body).toContain('val_accuracy');

  // The Job phases are in the run's events.
  const events = await h.pool.query(`SELECT data FROM run_events WHERE run_id = $1 AND type = 'job'`, [created.id]);
  expect(events.rows.map((r) => r.data.phase)).toEqual(expect.arrayContaining(['running', 'succeeded']));

  // Every Job is ours, labelled with the run.
  const jobs = await world.kc
    .makeApiClient(k8s.BatchV1Api)
    .listNamespacedJob({ namespace: NAMESPACE, labelSelector: `mlr-copilot.dev/run=${created.id}` });
  expect(jobs.items.length).toBe(experiments.length);
}, 400_000);

it('re-attaches to the running Job after the worker is killed with SIGKILL: the script runs once', async () => {
  const paperId = await submitPaper(h.app);
  model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'train.py' } });
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Ran the starter.' } });
  const first = spawnWorkerProcess(h, model.baseUrl, k8sEnv(world));
  await worker.stop(); // the killed worker must be the only one polling
  const created = await createTaskRun(h.app, paperId);
  const agentJobs = [0, 1].map((step) => jobName(`${created.id}:agent:${step}`));
  for (const j of agentJobs) world.held.add(j);
  const batch = world.kc.makeApiClient(k8s.BatchV1Api);
  const jobsOfRun = async () =>
    (await batch.listNamespacedJob({ namespace: NAMESPACE, labelSelector: `mlr-copilot.dev/run=${created.id}` })).items;
  const deadline = Date.now() + 120_000;
  while (!(await jobsOfRun()).some((j) => (j.status?.active ?? 0) > 0 && agentJobs.includes(j.metadata!.name!))) {
    if (Date.now() > deadline) throw new Error('the agent Job never ran');
    await new Promise((r) => setTimeout(r, 200));
  }
  // While the Job runs, the log route serves the pod's log from the cluster.
  const view = await h.app.inject({ method: 'GET', url: `/v1/runs/${created.id}`, headers: AUTH });
  const running = (view.json().experiments as Array<{ id: string; status: string }>).find(
    (e) => e.status === 'running',
  );
  const live = await h.app.inject({
    method: 'GET',
    url: `/v1/runs/${created.id}/experiments/${running!.id}/log`,
    headers: AUTH,
  });
  expect(live.statusCode).toBe(200);
  expect(live.headers['x-mlr-log']).toBe('live');
  expect(live.body).toContain('served by the kwok node for a running pod');
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  for (const j of agentJobs) world.held.delete(j);
  worker = await h.startWorker();
  const run = await waitForStatus(h.app, created.id, 'succeeded', 240_000);
  expect(run.result).toBeDefined();
  const agentJob = (await jobsOfRun()).filter((j) => agentJobs.includes(j.metadata!.name!));
  expect(agentJob).toHaveLength(1);
  expect(world.kubelet.ran.filter((p) => p.startsWith(agentJob[0]!.metadata!.name!))).toHaveLength(1);
}, 400_000);

it("carries a run on another worker with a disk of its own: the agent's next Job runs its committed code", async () => {
  const paperId = await submitPaper(h.app);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  model.enqueue('agent', { tool: 'write_file', args: { file_name: 'check.py', content: 'print("check ok")\n' } });
  model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'check.py' } });
  model.enqueue('agent', { after: gate, then: { tool: 'execute_script', args: { script_name: 'check.py' } } });
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Added a check.' } });
  await worker.stop();
  const a = await h.startWorker(
    {},
    { env: { MLR_DATA_DIR: path.join(TEST_DATA, 'k8s-worker-a') }, shutdownGraceTime: '2 minutes' },
  );
  const before = model.requestsFor('agent').length;
  const created = await createTaskRun(h.app, paperId, { until: 'measured' });
  await model.waitFor('agent', before + 3);
  // The first worker finishes the step it holds and leaves; one that never saw the run goes on.
  worker = await h.startWorker({}, { env: { MLR_DATA_DIR: path.join(TEST_DATA, 'k8s-worker-b') } });
  const stopping = a.stop();
  open();
  await stopping;
  await waitForStatus(h.app, created.id, 'succeeded', 300_000);
  const { rows } = await h.pool.query(
    "SELECT observation FROM agent_steps WHERE run_id = $1 AND tool = 'execute_script' ORDER BY step",
    [created.id],
  );
  expect(rows).toHaveLength(2);
  for (const r of rows) expect(r.observation).toContain('check ok');
  const view = await h.app.inject({ method: 'GET', url: `/v1/runs/${created.id}`, headers: AUTH });
  const agentRuns = (view.json().experiments as Array<{ role: string; executor: string }>).filter(
    (e) => e.role === 'agent',
  );
  expect(agentRuns.map((e) => e.executor)).toEqual(['kubernetes', 'kubernetes']);
}, 400_000);

it("runs a run's experiments where the run asked: locally, with Kubernetes the default", async () => {
  const paperId = await submitPaper(h.app);
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'The starter as it is.' } });
  const created = await createTaskRun(h.app, paperId, { executor: 'local' });
  await waitForStatus(h.app, created.id, 'succeeded', 240_000);
  const view = await h.app.inject({ method: 'GET', url: `/v1/runs/${created.id}`, headers: AUTH });
  const executors = (view.json().experiments as Array<{ role: string; executor: string }>)
    .filter((e) => e.role !== 'baseline') // a baseline may be shared with an earlier run
    .map((e) => e.executor);
  expect(executors.length).toBeGreaterThan(0);
  expect(new Set(executors)).toEqual(new Set(['local']));
}, 300_000);

it('benchmarks a task with its own environment as Jobs: built once on the cluster, its NumPy 1.x starter runs', async () => {
  // The starter calls np.product and np.float_, gone in the image's NumPy 2: it runs only in the task's venv.
  model.enqueue('agent', { tool: 'execute_script', args: { script_name: 'train.py' } });
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'The starter as it is.' } });
  const res = await h.app.inject({
    method: 'POST',
    url: '/v1/benchmarks',
    headers: AUTH,
    payload: { tasks: ['wine-legacy-numpy'], runsPerTask: 1, validationSeeds: 4, budget: { usd: 10 } },
  });
  expect(res.statusCode).toBe(201);
  let view = res.json();
  for (let i = 0; i < 600 && view.status !== 'completed'; i++) {
    await new Promise((r) => setTimeout(r, 500));
    view = (await h.app.inject({ method: 'GET', url: `/v1/benchmarks/${view.id}`, headers: AUTH })).json();
  }
  expect(view.status).toBe('completed');
  const runs = await h.app.inject({ method: 'GET', url: `/v1/runs?campaignId=${view.id}`, headers: AUTH });
  const run = await getRun(h.app, runs.json().items[0].id);
  expect(run.status).toBe('succeeded');
  const experiments = run.experiments as Array<{ role: string; status: string; executor: string }>;
  expect(experiments.filter((e) => e.role === 'agent').map((e) => [e.executor, e.status])).toEqual([
    ['kubernetes', 'succeeded'],
  ]);
  expect(experiments.every((e) => e.executor === 'kubernetes')).toBe(true);
  expect(run.validation.runs.length).toBeGreaterThanOrEqual(2);
  // One build Job for the task's requirements, whatever number of experiments used it.
  const builds = await world.kc
    .makeApiClient(k8s.BatchV1Api)
    .listNamespacedJob({ namespace: NAMESPACE, labelSelector: 'app.kubernetes.io/component=environment' });
  const names = builds.items.map((j) => j.metadata!.name!);
  expect(names).toHaveLength(1);
  expect(world.kubelet.ran.filter((p) => p.startsWith(names[0]!))).toHaveLength(1);
  // The report's versions are the task's environment's (its pinned NumPy 1), not the service's NumPy 2.
  const report = await h.app.inject({ method: 'GET', url: `/v1/runs/${run.id}/report?format=json`, headers: AUTH });
  expect(report.json().provenance.packages).toMatchObject({ numpy: '1.26.4', 'scikit-learn': '1.5.2' });
}, 400_000);

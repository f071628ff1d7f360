// The Kubernetes backend against the executor contract, on a real control plane (kube-apiserver, etcd,
// the Job controller, the scheduler, a kwok GPU node) with the stand-in kubelet running the real runner,
// and a real S3-compatible store for the transfers; then what only a cluster does.
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createJobCluster } from '../../src/clients/kubernetes';
import { ConfigError } from '../../src/config';
import { reapJobs } from '../../src/experiments/executor/kubernetes';
import { apiServerTarget, canaryJob, probeNetwork } from '../../src/experiments/executor/kubernetes/canary';
import { buildEnvJob, envJobName, envName } from '../../src/experiments/executor/kubernetes/env-spec';
import { buildJob, jobName } from '../../src/experiments/executor/kubernetes/job-spec';
import type { Observation } from '../../src/experiments/executor/kubernetes/status';
import type { PreparedTask } from '../../src/tasks/library';
import { createActivityDeps } from '../../src/worker';
import { execSpec, freshWorkspace, preparedTask, TEST_INPUTS } from '../support/experiments';
import { createTestDatabase, testConfig } from '../support/harness';
import { ENVS_CLAIM, k8sEnv, NAMESPACE, startK8sWorld, TEST_JOB_SETTINGS, type K8sWorld } from '../support/k8s';
import { TEST_DATA } from '../support/paths';
import { executorContract } from './executor-contract';

let world: K8sWorld;
let prepared: PreparedTask;
beforeAll(async () => {
  world = await startK8sWorld('executor');
  prepared = await preparedTask();
}, 900_000);
afterAll(async () => world?.close());

executorContract({
  name: 'kubernetes',
  sandbox: 'pod',
  make: async () => ({ executor: world.executor(), store: world.s3.artifacts }),
  enforces: { memory: false, network: false },
});

const batch = () => world.kc.makeApiClient(k8s.BatchV1Api);
const core = () => world.kc.makeApiClient(k8s.CoreV1Api);
const podsOf = async (job: string) =>
  (await core().listNamespacedPod({ namespace: NAMESPACE, labelSelector: `batch.kubernetes.io/job-name=${job}` }))
    .items;
const jobExists = async (name: string) =>
  batch()
    .readNamespacedJob({ name, namespace: NAMESPACE })
    .then((j) => !j.metadata?.deletionTimestamp)
    .catch(() => false);
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The test task as if it declared its own requirements (the worker's copy is not needed to run it). */
const withRequirements = (requirements: string) => ({
  ...TEST_INPUTS,
  task: async (id: string) => ({ ...(await TEST_INPUTS.task(id)), requirements }),
});

function script(name: string, code: string, over: Parameters<typeof execSpec>[3] = {}) {
  const ws = freshWorkspace(prepared, name);
  ws.writeFile(`${name}.py`, code);
  return execSpec(prepared, ws, `${name}.py`, over);
}

describe('the Kubernetes executor on a cluster', () => {
  it('fails a Job that asks for more GPUs than any node has, as unschedulable, and deletes it', async () => {
    const spec = script('greedy', 'print("never")\n', { gpus: 9 });
    const result = await world.executor({ pendingTimeoutMs: 1500 }).execute(spec);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^the Job could not start: Unschedulable: .*Insufficient nvidia\.com\/gpu/);
    await until(async () => !(await jobExists(jobName(spec.key))));
  });

  it('refuses a task with its own requirements on a cluster without an environments volume, saying what to set', async () => {
    const spec = script('own-env', 'print("never")\n');
    const { environments: _none, ...settings } = TEST_JOB_SETTINGS;
    const executor = world.executor({ settings, inputs: withRequirements('numpy==1.26.4\n') });
    await expect(executor.execute(spec)).rejects.toThrow(
      /declares its own requirements, .*MLR_K8S_ENVS_CLAIM.*"local"/,
    );
    expect(await jobExists(jobName(spec.key))).toBe(false);
  });

  it('refuses an execution of a run that fetched Hub repositories, which the cluster cannot serve yet, creating no Job', async () => {
    const spec = script('hub-run', 'print("never")\n');
    const executor = world.executor({ inputs: { ...TEST_INPUTS, fetchedFromHub: async () => true } });
    await expect(executor.execute(spec)).rejects.toThrow(/fetched models or datasets from the Hub.*executor "local"/);
    expect(await jobExists(jobName(spec.key))).toBe(false);
  });

  it('refuses a task that loads Hub datasets prepared on the worker, creating no Job', async () => {
    const spec = script('hub-task', 'print("never")\n');
    const inputs = {
      ...TEST_INPUTS,
      task: async (id: string) => ({ ...(await TEST_INPUTS.task(id)), datasetsCache: '/data/tasks/imdb/hf-datasets' }),
    };
    await expect(world.executor({ inputs }).execute(spec)).rejects.toThrow(/loads Hub datasets.*executor "local"/);
    expect(await jobExists(jobName(spec.key))).toBe(false);
  });

  it("builds a task's own environment once in a Job and runs its experiments in it, mounted read-only", async () => {
    const inputs = withRequirements('numpy==1.26.4\n');
    const phases: string[] = [];
    const executor = world.executor({ inputs, onPhase: (_s, o) => phases.push(`${o.job.slice(0, 8)}:${o.phase}`) });
    const code = 'import numpy, sys\nprint("numpy", numpy.__version__, "in", sys.prefix)\n';
    const firstSpec = script('env-a', code);
    const first = await executor.execute(firstSpec);
    const env = envName('numpy==1.26.4\n', TEST_JOB_SETTINGS.image);
    expect(first.logTail).toContain(`numpy 1.26.4 in ${path.join(world.kubelet.volumes, ENVS_CLAIM, env)}`);
    expect(phases).toContain('mlr-env-:succeeded');
    const second = await executor.execute(script('env-b', code));
    expect(second.logTail).toContain('numpy 1.26.4');
    // One build for both, and it stays as proof until its TTL; the experiments mounted the volume read-only.
    expect(world.kubelet.ran.filter((p) => p.startsWith(envJobName(env)))).toHaveLength(1);
    const build = await batch().readNamespacedJob({ name: envJobName(env), namespace: NAMESPACE });
    expect(build.metadata?.labels?.['app.kubernetes.io/component']).toBe('environment');
    expect(fs.existsSync(path.join(world.kubelet.volumes, ENVS_CLAIM, env, '.mlr-ready'))).toBe(true);
    const [pod] = await podsOf(jobName(firstSpec.key));
    expect(pod!.spec!.containers[0]!.volumeMounts).toContainEqual({ name: 'envs', mountPath: '/envs', readOnly: true });
    expect(pod!.spec!.volumes).toContainEqual(
      expect.objectContaining({ name: 'envs', persistentVolumeClaim: { claimName: ENVS_CLAIM, readOnly: true } }),
    );
  });

  it('re-attaches a retry to its Job without building the environment again', async () => {
    const req = 'numpy==1.26.4\n';
    const build = envJobName(envName(req, TEST_JOB_SETTINGS.image));
    const executor = world.executor({ inputs: withRequirements(req) });
    const spec = script('env-retry', 'print("once")\n');
    expect((await executor.execute(spec)).logTail).toContain('once');
    await batch().deleteNamespacedJob({ name: build, namespace: NAMESPACE, propagationPolicy: 'Background' });
    await until(async () => !(await jobExists(build)));
    const phases: string[] = [];
    await executor.execute({ ...spec, onProgress: (d) => phases.push(String(d?.phase)) });
    expect(phases).toContain('succeeded'); // it read its own finished Job
    expect(await jobExists(build)).toBe(false);
  });

  it('builds an environment again when it went missing from the volume behind its finished Job', async () => {
    const req = 'numpy==1.26.4\n';
    const env = envName(req, TEST_JOB_SETTINGS.image);
    const executor = world.executor({ inputs: withRequirements(req) });
    const code = 'import numpy\nprint("numpy", numpy.__version__)\n';
    expect((await executor.execute(script('env-kept', code))).logTail).toContain('numpy 1.26.4');
    fs.rmSync(path.join(world.kubelet.volumes, ENVS_CLAIM, env), { recursive: true, force: true });
    const lost = await executor.execute(script('env-lost', code));
    expect(lost.status).toBe('failed');
    expect(lost.error).toMatch(/the task's environment .* is not built/);
    await until(async () => !(await jobExists(envJobName(env))));
    expect((await executor.execute(script('env-rebuilt', code))).logTail).toContain('numpy 1.26.4');
  });

  it("fails an execution whose environment cannot be built with the build's own error, and lets a later one retry", async () => {
    const inputs = withRequirements('mlr-copilot-no-such-package==9.9.9\n');
    const spec = script('env-broken', 'print("never")\n');
    await expect(world.executor({ inputs }).execute(spec)).rejects.toThrow(
      /environment of task .* could not be built: uv pip failed .*mlr-copilot-no-such-package was not found/,
    );
    const env = envName('mlr-copilot-no-such-package==9.9.9\n', TEST_JOB_SETTINGS.image);
    await until(async () => !(await jobExists(envJobName(env))));
    expect(await jobExists(jobName(spec.key))).toBe(false);
    expect(fs.existsSync(path.join(world.kubelet.volumes, ENVS_CLAIM, env))).toBe(false);
  });

  it('ends an execution as cancelled while its environment builds, and leaves the build for the others', async () => {
    const req = 'numpy==1.26.3\n';
    const build = envJobName(envName(req, TEST_JOB_SETTINGS.image));
    world.held.add(build);
    const controller = new AbortController();
    const spec = script('env-cancel', 'print("never")\n');
    const result = await world
      .executor({ inputs: withRequirements(req), onPhase: (_s, o) => o.phase === 'running' && controller.abort() })
      .execute({ ...spec, signal: controller.signal });
    expect(result.status).toBe('cancelled');
    expect(await jobExists(build)).toBe(true);
    expect(await jobExists(jobName(spec.key))).toBe(false);
    world.held.delete(build);
    await batch().deleteNamespacedJob({ name: build, namespace: NAMESPACE, propagationPolicy: 'Background' });
  });

  it('fails an execution whose environment build cannot be scheduled, after the pending grace', async () => {
    const settings = { ...TEST_JOB_SETTINGS, nodeSelector: { pool: 'nowhere' } };
    const spec = script('env-unschedulable', 'print("never")\n');
    await expect(
      world.executor({ settings, pendingTimeoutMs: 1500, inputs: withRequirements('numpy==1.26.2\n') }).execute(spec),
    ).rejects.toThrow(/environment of task .* could not be built: its Job could not start: Unschedulable/);
    const build = envJobName(envName('numpy==1.26.2\n', TEST_JOB_SETTINGS.image));
    await until(async () => !(await jobExists(build)));
  });

  it('schedules a GPU Job on the GPU node and records where it ran', async () => {
    const result = await world.executor().execute(script('gpu', 'print("on a GPU node")\n', { gpus: 2 }));
    expect(result.logTail).toContain('on a GPU node');
    expect(result.placement).toMatchObject({ node: 'kwok-gpu-0', job: expect.stringMatching(/^mlr-exec-/) });
  });

  it("fails a script's own error fast through podFailurePolicy", async () => {
    const phases: Observation[] = [];
    const result = await world
      .executor({ onPhase: (_s, o) => phases.push(o) })
      .execute(script('crash', 'raise SystemExit(3)\n'));
    expect(result).toMatchObject({ status: 'failed', exitCode: 3, error: 'exit code 3' });
    expect(phases.at(-1)).toMatchObject({ phase: 'failed', reason: 'PodFailurePolicy' });
  });

  it('ends a Job that passes its deadline as a timeout', async () => {
    const spec = script('stalled', 'print("held")\n', { timeoutMs: 1000 });
    world.held.add(jobName(spec.key));
    try {
      const result = await world
        .executor({ settings: { ...TEST_JOB_SETTINGS, deadlineMarginSeconds: 1 } })
        .execute(spec);
      expect(result.status).toBe('timeout');
      expect(result.error).toMatch(/passed its deadline/);
    } finally {
      world.held.delete(jobName(spec.key));
    }
  });

  it('deletes the Job and its pod when cancelled while Running', async () => {
    const spec = script('cancel', 'print("held")\n');
    const name = jobName(spec.key);
    world.held.add(name);
    const controller = new AbortController();
    const running = world
      .executor({ onPhase: (_s, o) => o.phase === 'running' && controller.abort() })
      .execute({ ...spec, signal: controller.signal });
    const result = await running;
    world.held.delete(name);
    expect(result.status).toBe('cancelled');
    await until(async () => !(await jobExists(name)) && (await podsOf(name)).length === 0);
  });

  it('re-attaches a retried execution to the Job its first attempt left running: never a second Job', async () => {
    const spec = script('reattach', 'print("ran once")\n');
    const name = jobName(spec.key);
    world.held.add(name);
    const first = new AbortController();
    // The first attempt's worker goes away while the Job runs (a shutdown: the Job is left running).
    await expect(
      world
        .executor({ onPhase: (_s, o) => o.phase === 'running' && first.abort() })
        .execute({ ...spec, signal: first.signal, abortMode: () => 'detach' }),
    ).rejects.toThrow(/left Job .* running/);
    expect(await jobExists(name)).toBe(true);
    world.held.delete(name);
    const result = await world.executor().execute(spec);
    expect(result.logTail).toContain('ran once');
    expect(result.status).toBe('failed'); // no submission: measured, not re-run
    expect(world.kubelet.ran.filter((p) => p.startsWith(name))).toHaveLength(1);
    expect(await podsOf(name)).toHaveLength(1);
  });

  it('refuses a Job of the same name with another spec, and fails an execution whose Job was deleted by someone else', async () => {
    const spec = script('collide', 'print("held")\n');
    const name = jobName(spec.key);
    world.held.add(name);
    const first = new AbortController();
    await world
      .executor({ onPhase: (_s, o) => o.phase === 'running' && first.abort() })
      .execute({ ...spec, signal: first.signal, abortMode: () => 'detach' })
      .catch(() => undefined);
    await expect(world.executor().execute({ ...spec, seed: spec.seed + 1 })).rejects.toThrow(/name collision/);
    const gone = world
      .executor({
        onPhase: (_s, o) => o.phase === 'running' && void createJobCluster(world.kc, NAMESPACE).deleteJob(name),
      })
      .execute(spec);
    const result = await gone;
    world.held.delete(name);
    expect(result).toMatchObject({ status: 'failed', error: `Job ${name} was deleted before it finished` });
  });

  it('reaps Jobs whose run is closed and keeps those of open runs', async () => {
    const open = script('open', 'print(1)\n');
    const closed = script('closed', 'print(1)\n');
    for (const s of [open, closed]) world.held.add(jobName(s.key));
    const leave = async (spec: typeof open) => {
      const c = new AbortController();
      await world
        .executor({ onPhase: (_s, o) => o.phase === 'running' && c.abort() })
        .execute({ ...spec, signal: c.signal, abortMode: () => 'detach' })
        .catch(() => undefined);
    };
    await leave(open);
    await leave(closed);
    const cluster = createJobCluster(world.kc, NAMESPACE);
    const reaped = await reapJobs(cluster, async (runId) => runId === open.workspace.runId);
    expect(reaped).toContain(jobName(closed.key));
    expect(reaped).not.toContain(jobName(open.key));
    expect(await jobExists(jobName(closed.key))).toBe(false);
    expect(await jobExists(jobName(open.key))).toBe(true);
    for (const s of [open, closed]) world.held.delete(jobName(s.key));
    await cluster.deleteJob(jobName(open.key));
  });

  it('shows a Job that Kueue holds suspended as queued, not failed, and runs it once admitted', async () => {
    const spec = script('queued', 'print("admitted")\n');
    const name = jobName(spec.key);
    const phases: string[] = [];
    const done = world
      .executor({ settings: { ...TEST_JOB_SETTINGS, queue: 'team-gpu' }, pendingTimeoutMs: 1000 })
      .execute({ ...spec, onProgress: (d) => phases.push(String(d?.phase)) });
    await until(() => phases.includes('queued'));
    const job = await batch().readNamespacedJob({ name, namespace: NAMESPACE });
    expect(job.metadata!.labels!['kueue.x-k8s.io/queue-name']).toBe('team-gpu');
    await new Promise((r) => setTimeout(r, 1500)); // longer than the pending grace: queued is not stuck
    // What Kueue does on admission.
    await batch().patchNamespacedJob(
      { name, namespace: NAMESPACE, body: { spec: { suspend: false } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const result = await done;
    expect(result.logTail).toContain('admitted');
    expect(result.placement!.queuedMs).toBeGreaterThan(1000);
  });

  it('re-issues the URLs of a Job Kueue holds suspended, kept owned by the Job, and they work once admitted', async () => {
    const spec = script('requeued', 'print("fresh urls")\n');
    const name = jobName(spec.key);
    const phases: string[] = [];
    // A one-second margin: the URLs are re-issued every second while the Job waits.
    const settings = { ...TEST_JOB_SETTINGS, queue: 'team-gpu', deadlineMarginSeconds: 1 };
    const done = world
      .executor({ settings, pendingTimeoutMs: 1000 })
      .execute({ ...spec, onProgress: (d) => phases.push(String(d?.phase)) });
    await until(() => phases.includes('queued'));
    const secret = () => core().readNamespacedSecret({ name, namespace: NAMESPACE });
    const first = (await secret()).data!.MLR_INPUT_URL;
    await until(async () => (await secret()).data!.MLR_INPUT_URL !== first);
    const job = await batch().readNamespacedJob({ name, namespace: NAMESPACE });
    expect((await secret()).metadata!.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', name, uid: job.metadata!.uid }),
    ]);
    await batch().patchNamespacedJob(
      { name, namespace: NAMESPACE, body: { spec: { suspend: false } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const result = await done;
    // The pod, created on admission, fetched its input through the re-issued URL (the script scores nothing).
    expect(result.exitCode).toBe(0);
    expect(result.logTail).toContain('fresh urls');
    expect(result.log!.bytes).toBeGreaterThan(0);
  });

  it('builds Jobs the API server accepts (server-side dry run persists nothing)', async () => {
    const job = buildJob(
      {
        key: 'dry-run',
        runId: 'run-dry',
        role: 'measured',
        script: 'train.py',
        seed: 0,
        timeoutMs: 60_000,
        resources: { cpu: 2, memoryMb: 4096, gpus: 1, gpuType: 'NVIDIA-H100-80GB-HBM3' },
        secretName: 'mlr-exec-dry',
      },
      {
        ...TEST_JOB_SETTINGS,
        queue: 'team-gpu',
        tolerations: [{ key: 'dedicated', operator: 'Exists' }],
        pinnedHosts: [{ ip: '10.96.12.7', hostnames: ['object-store.mlr-copilot.svc'] }],
      },
    );
    const canary = canaryJob({ ...TEST_JOB_SETTINGS, pinnedHosts: [] }, ['1.1.1.1:443', 'dns:example.com'], 'dry');
    const build = buildEnvJob(
      { name: 'f'.repeat(16), requirements: 'torch==2.9.1\n', taskId: 'dry' },
      TEST_JOB_SETTINGS,
    );
    for (const j of [job, build, canary])
      await batch().createNamespacedJob({ namespace: NAMESPACE, body: j as unknown as k8s.V1Job, dryRun: 'All' });
    expect(await jobExists(job.metadata.name)).toBe(false);
    expect(await jobExists(build.metadata.name)).toBe(false);
  });
});

describe('the network claim on a cluster', () => {
  const canaryJobs = async () =>
    (await batch().listNamespacedJob({ namespace: NAMESPACE })).items.filter(
      (j) => j.metadata!.name!.startsWith('mlr-canary-') && !j.metadata!.deletionTimestamp,
    );

  it('is proved by a canary pod: one let out reaches the API server, one cut off reaches nothing', async () => {
    const cluster = createJobCluster(world.kc, NAMESPACE);
    const api = apiServerTarget(world.kc.getCurrentCluster()!.server);
    const targets = [api, '169.254.169.254:80', 'dns:example.com'];
    const settings = { ...TEST_JOB_SETTINGS, pinnedHosts: [] };
    const open = await probeNetwork(cluster, settings, targets, { pollMs: 200, timeoutMs: 60_000 });
    // (Whether this host reaches outside addresses depends on where the tests run; the API server it always does.)
    expect(open).toMatchObject({ isolated: false, reached: expect.arrayContaining([api]) });
    expect(open.reached).not.toContain('dns:example.com');
    world.cutOff.add('mlr-canary-');
    try {
      const cut = await probeNetwork(cluster, settings, targets, { pollMs: 200, timeoutMs: 60_000 });
      expect(cut).toEqual({ isolated: true, reached: [] });
    } finally {
      world.cutOff.delete('mlr-canary-');
    }
    // Each canary is deleted once it has spoken.
    expect(await canaryJobs()).toEqual([]);
  });

  it('keeps a worker from starting when the canary gets out while MLR_K8S_NETWORK_POLICY says it cannot', async () => {
    const config = testConfig({
      ...k8sEnv(world),
      MLR_K8S_NETWORK_POLICY: 'true',
      MLR_DATA_DIR: path.join(TEST_DATA, 'k8s-canary-worker'),
    });
    const { pool } = await createTestDatabase();
    try {
      const err = await createActivityDeps(config, pool).catch((e: Error) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(
        /a canary pod in mlr-experiments reached (\S+, )*127\.0\.0\.1:\d+: the cluster/,
      );
      // Without the claim, it starts, and its executions say they were not isolated.
      const deps = await createActivityDeps({ ...config, MLR_K8S_NETWORK_POLICY: false }, pool);
      expect(deps.executor).toBeDefined();
    } finally {
      await pool.end();
    }
    expect(await canaryJobs()).toEqual([]);
  });
});

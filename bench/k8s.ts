// What running experiments as Kubernetes Jobs costs, against the local control plane (real apiserver,
// Job controller and scheduler; the stand-in kubelet runs the runner), as ratios to floors measured in the
// same run:
//  (a) the floor: the runner itself running a script that does nothing (its own durationMs);
//  (b) Job create → Running and → Complete, from the executor's phase callbacks;
//  (c) the executor's whole execute() (tarball, upload, Job, wait, download, scoring), minus (a);
//  (d) Jobs in flight: n executions waiting at once, heap per waiting execution;
//  (e) a task's own environment on the cluster (numpy 1.26.4): the build Job with an empty download cache, with a
//      warm one, found through its finished Job, and re-created after its Job is gone (the pod finds it built).
// Usage: npm run bench:k8s [-- --n 10 --inflight 20]
import fs from 'node:fs';
import path from 'node:path';
import { createJobCluster } from '../src/clients/kubernetes';
import { envJobName } from '../src/experiments/executor/kubernetes/env-spec';
import { ensureClusterEnv } from '../src/experiments/executor/kubernetes/environment';
import { execSpec, freshWorkspace, preparedTask } from '../test/support/experiments';
import { ENVS_CLAIM, NAMESPACE, startK8sWorld, TEST_JOB_SETTINGS, type K8sWorld } from '../test/support/k8s';
import { jobName } from '../src/experiments/executor/kubernetes/job-spec';
import { arg, stats } from './stack';

async function main(): Promise<void> {
  const n = arg('n', 10);
  const inflight = arg('inflight', 20);
  const world = await startK8sWorld('bench');
  const prepared = await preparedTask();
  try {
    const runner: number[] = [];
    const toRunning: number[] = [];
    const toComplete: number[] = [];
    const overhead: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < n; i++) {
      const ws = freshWorkspace(prepared, `bench-k8s-${i}`);
      ws.writeFile('noop.py', 'pass\n');
      const t0 = performance.now();
      let running: number | undefined;
      let complete: number | undefined;
      const executor = world.executor({
        pollMs: 100,
        onPhase: (_s, o) => {
          if (o.phase === 'running') running ??= performance.now();
          if (o.phase === 'succeeded' || o.phase === 'failed') complete ??= performance.now();
        },
      });
      const result = await executor.execute(execSpec(prepared, ws, 'noop.py', { seed: 0 }));
      const t = performance.now() - t0;
      total.push(t);
      runner.push(result.durationMs);
      overhead.push(t - result.durationMs);
      if (running) toRunning.push(running - t0);
      if (complete) toComplete.push(complete - t0);
    }
    const floor = stats(runner).p50;
    const line = (name: string, xs: number[]) => {
      const s = stats(xs);
      console.log(
        `${name}: p50 ${s.p50.toFixed(0)} ms, p95 ${s.p95.toFixed(0)} ms (${(s.p50 / floor).toFixed(1)}× floor)`,
      );
    };
    console.log(`(a) runner's own run of a no-op script: p50 ${floor.toFixed(0)} ms (floor), n=${n}`);
    line('(b) execute() → Job Running', toRunning);
    line('(b) execute() → Job Complete observed', toComplete);
    line('(c) executor overhead on top of the run', overhead);
    line('    whole execute()', total);

    // (d) Jobs in flight: held in Running by the kubelet, each an execute() polling the API.
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    const specs = Array.from({ length: inflight }, (_, i) => {
      const ws = freshWorkspace(prepared, `bench-inflight-${i}`);
      ws.writeFile('noop.py', 'pass\n');
      return execSpec(prepared, ws, 'noop.py', { seed: 0 });
    });
    for (const s of specs) world.held.add(jobName(s.key));
    const running = new Set<string>();
    const executor = world.executor({ pollMs: 2000, onPhase: (s, o) => o.phase === 'running' && running.add(s.key) });
    const waits = specs.map((s) => executor.execute(s));
    const deadline = Date.now() + 120_000;
    while (running.size < inflight && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    global.gc?.();
    const during = process.memoryUsage().heapUsed;
    console.log(
      `(d) ${running.size} Jobs in flight: heap +${((during - before) / 1024 / 1024).toFixed(1)} MB, ` +
        `${((during - before) / 1024 / running.size).toFixed(0)} KB per waiting execution`,
    );
    world.held.clear();
    await Promise.all(waits);
    await environments(world, floor);
  } finally {
    await world.close();
  }
}

async function environments(world: K8sWorld, floor: number): Promise<void> {
  const cluster = createJobCluster(world.kc, NAMESPACE);
  const volume = path.join(world.kubelet.volumes, ENVS_CLAIM);
  // A fresh name per measurement: the comment line changes the hash, not what uv installs.
  const requirements = (tag: string) => `numpy==1.26.4\n# bench ${tag} ${Date.now()}\n`;
  const time = async (req: string) => {
    const t = performance.now();
    const name = await ensureClusterEnv({
      cluster,
      settings: TEST_JOB_SETTINGS,
      requirements: req,
      taskId: 'bench',
      pollMs: 100,
      pendingTimeoutMs: 60_000,
    });
    return { ms: performance.now() - t, name };
  };
  fs.rmSync(path.join(volume, '.uv-cache'), { recursive: true, force: true });
  const cold = await time(requirements('cold'));
  const warmReq = requirements('warm');
  const warm = await time(warmReq);
  const found = await time(warmReq);
  await cluster.deleteJob(envJobName(warm.name));
  while (await cluster.readJob(envJobName(warm.name))) await new Promise((r) => setTimeout(r, 100));
  const again = await time(warmReq);
  const x = (ms: number) => `${(ms / floor).toFixed(1)}× floor`;
  console.log(`(e) environment build Job, empty download cache: ${cold.ms.toFixed(0)} ms (${x(cold.ms)})`);
  console.log(`    build Job, warm download cache: ${warm.ms.toFixed(0)} ms (${x(warm.ms)})`);
  console.log(`    found through its finished Job: ${found.ms.toFixed(1)} ms`);
  console.log(
    `    Job gone, environment on the volume (pod exits at once): ${again.ms.toFixed(0)} ms (${x(again.ms)})`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

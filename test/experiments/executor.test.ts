// The local backend against the executor contract, and what is particular to it.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { allotGpus, detectGpuDevices, namespacedProcCounts, tasksOfUid } from '../../src/experiments/executor/local';
import type { AddressInfo } from 'node:net';
import type { PreparedTask } from '../../src/tasks/library';
import { execSpec, freshWorkspace, localExecutor, preparedTask } from '../support/experiments';
import { executorContract } from './executor-contract';

executorContract({
  name: 'local',
  sandbox: 'bwrap',
  make: () => localExecutor(true),
  enforces: { memory: true, network: true },
});

describe('the local executor and GPUs', () => {
  it('fails an execution that asks for a GPU on a machine without one, saying where to run it', async () => {
    const prepared = await preparedTask();
    const ws = freshWorkspace(prepared, 'gpu');
    ws.writeFile('gpu.py', 'print("ran")\n');
    const { executor } = await localExecutor(true);
    const result = await executor.execute(execSpec(prepared, ws, 'gpu.py', { gpus: 1 }));
    expect(result).toMatchObject({ status: 'failed', exitCode: null, metrics: null });
    expect(result.error).toMatch(/asks for 1 GPU\(s\) and this machine has none .*MLR_EXECUTOR=kubernetes/);
  });

  it('finds NVIDIA device files where there are some, and none elsewhere', () => {
    const dev = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-'));
    expect(detectGpuDevices(dev)).toEqual([]);
    for (const f of ['nvidia0', 'nvidia1', 'nvidiactl', 'nvidia-uvm', 'null']) fs.writeFileSync(path.join(dev, f), '');
    expect(
      detectGpuDevices(dev)
        .map((p) => path.basename(p))
        .sort(),
    ).toEqual(['nvidia-uvm', 'nvidia0', 'nvidia1', 'nvidiactl']);
    expect(detectGpuDevices(path.join(dev, 'missing'))).toEqual([]);
  });

  it.each([
    ['6.18.44-fc', true],
    ['5.14.0-284.el9', true],
    ['5.10.0-28-amd64', false],
    ['4.19.0', false],
  ])('knows whether Linux %s counts processes per user namespace: %s', (release, namespaced) => {
    expect(namespacedProcCounts(release)).toBe(namespaced);
  });

  it("counts a uid's tasks as RLIMIT_NPROC does, threads included", () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'proc-'));
    const task = (pid: string, uid: number, threads: number) => {
      fs.mkdirSync(path.join(proc, pid));
      fs.writeFileSync(
        path.join(proc, pid, 'status'),
        `Name:\tx\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nThreads:\t${threads}\n`,
      );
    };
    task('10', 1000, 12);
    task('11', 1000, 1);
    task('12', 0, 30);
    fs.mkdirSync(path.join(proc, 'self'));
    expect(tasksOfUid(1000, proc)).toBe(13);
    expect(tasksOfUid(0, proc)).toBe(30);
    expect(tasksOfUid(process.getuid!())).toBeGreaterThan(0); // this process, on the real /proc
  });

  const machine = ['/dev/nvidia0', '/dev/nvidia1', '/dev/nvidia2', '/dev/nvidiactl', '/dev/nvidia-uvm'];
  const shared = ['/dev/nvidiactl', '/dev/nvidia-uvm'];
  it.each([
    ['one GPU of an idle machine: the first', 1, {}, ['/dev/nvidia0', ...shared]],
    ['one GPU while nvidia0 is busy: the next', 1, { '/dev/nvidia0': 1 }, ['/dev/nvidia1', ...shared]],
    ['two GPUs while nvidia1 is busy', 2, { '/dev/nvidia1': 2 }, ['/dev/nvidia0', '/dev/nvidia2', ...shared]],
    ['three of three, all busy once', 3, { '/dev/nvidia0': 1, '/dev/nvidia1': 1, '/dev/nvidia2': 1 }, machine],
    ['four of three: none', 4, {}, undefined],
  ])('allots %s, and never every GPU for one', (_what, gpus, busy, expected) => {
    const got = allotGpus(machine, gpus, new Map(Object.entries(busy)));
    expect(got?.slice().sort()).toEqual(expected?.slice().sort());
  });
});

describe('the local executor without a sandbox (MLR_SANDBOX=none)', () => {
  let prepared: PreparedTask;
  beforeAll(async () => {
    prepared = await preparedTask();
  });

  it('says so on the execution, and has the network unless unshare isolates it', async () => {
    const server = http.createServer((_q, r) => r.end('reachable'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const ws = freshWorkspace(prepared, 'bare');
      ws.writeFile(
        'net.py',
        `import urllib.request\nprint(urllib.request.urlopen("http://127.0.0.1:${port}", timeout=3).read().decode())\n`,
      );
      const { executor } = await localExecutor(false, undefined, 'none');
      const result = await executor.execute(execSpec(prepared, ws, 'net.py', { timeoutMs: 30_000 }));
      expect(result).toMatchObject({ sandbox: 'none', networkIsolated: false });
      expect(result.logTail).toContain('reachable');
    } finally {
      server.close();
    }
  });
});

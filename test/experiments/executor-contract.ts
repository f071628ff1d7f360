// The executor contract: what every backend (the local one now, Kubernetes Jobs next) must do, run against
// real scripts. A backend's test file calls executorContract with a way to build it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ArtifactStore } from '../../src/experiments/artifacts';
import type { Executor } from '../../src/experiments/executor/types';
import type { PreparedTask } from '../../src/tasks/library';
import fs from 'node:fs';
import path from 'node:path';
import { execSpec, freshWorkspace, preparedTask, snapshotOf } from '../support/experiments';

export interface ContractBackend {
  name: string;
  /** How this backend records its isolation on every execution. */
  sandbox: 'bwrap' | 'none' | 'pod';
  make(isolated: boolean): Promise<{ executor: Executor; store: ArtifactStore }>;
  /**
   * What the backend enforces itself. A Kubernetes backend leaves the memory limit to the kubelet and the
   * network to the namespace's NetworkPolicy, which the tests' stand-in kubelet does not emulate: there the
   * contract checks that the limit is asked for and that the isolation is recorded as configured.
   */
  enforces: { memory: boolean; network: boolean };
}

export function executorContract(backend: ContractBackend): void {
  let prepared: PreparedTask;
  beforeAll(async () => {
    prepared = await preparedTask();
  });

  async function run(
    script: string,
    code: string,
    over: { timeoutMs?: number; memoryMb?: number; signal?: AbortSignal } = {},
  ) {
    const ws = freshWorkspace(prepared, 'exec');
    ws.writeFile(script, code);
    const { executor, store } = await backend.make(true);
    const result = await executor.execute(
      execSpec(prepared, ws, script, {
        seed: 3,
        timeoutMs: over.timeoutMs ?? 60_000,
        memoryMb: over.memoryMb ?? 2048,
        signal: over.signal,
      }),
    );
    return { result, store };
  }

  describe(`the executor contract: ${backend.name}`, () => {
    it('runs the starter train.py and measures it with eval.py from outside the workspace', async () => {
      const ws = freshWorkspace(prepared, 'starter');
      const { executor, store } = await backend.make(true);
      const result = await executor.execute(execSpec(prepared, ws, 'train.py', { seed: 0, timeoutMs: 120_000 }));
      expect(result.status).toBe('succeeded');
      expect(result.exitCode).toBe(0);
      expect(result.metrics!.accuracy).toBeGreaterThan(0.5);
      expect(result.metrics!.accuracy).toBeLessThanOrEqual(1);
      expect(result.metrics!.reported).toHaveProperty('val_accuracy');
      expect(result.peakMemoryMb).toBeGreaterThan(10);
      expect(result.logTail).toContain('val_accuracy');
      expect((await store.get(result.log.uri)).toString()).toContain('val_accuracy');
    });

    it('fails a script that exits non-zero, with its error in the log tail', async () => {
      const { result } = await run('bad.py', 'raise ValueError("planted bug")\n');
      expect(result).toMatchObject({ status: 'failed', exitCode: 1, error: 'exit code 1' });
      expect(result.logTail).toContain('ValueError: planted bug');
    });

    it('fails with "missing metric" when the script writes no submission', async () => {
      const { result } = await run('quiet.py', 'print("no submission")\n');
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/^missing metric: .*submission\.csv/);
    });

    it('kills the whole process group at the timeout', async () => {
      const { result } = await run(
        'slow.py',
        'import subprocess, time\nsubprocess.Popen(["sleep", "60"])\ntime.sleep(60)\n',
        { timeoutMs: 1500 },
      );
      expect(result.status).toBe('timeout');
      expect(result.durationMs).toBeLessThan(10_000);
    });

    // Defined only where the backend enforces it; the Kubernetes tests check what it asks of the cluster.
    const noop = (() => undefined) as unknown as typeof it;
    const memoryIt = backend.enforces.memory ? it : noop;
    const networkIt = backend.enforces.network ? it : noop;
    memoryIt('enforces the memory limit on memory the script really uses', async () => {
      // Filled, so it is resident: a cgroup limits what is resident, an rlimit (RLIMIT_DATA) what is mapped to write.
      const { result } = await run('hog.py', 'x = b"y" * (600 * 1024 * 1024)\nprint(len(x))\n', { memoryMb: 300 });
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/memory limit 300 MB/);
      expect(result.logTail).not.toContain('629145600');
    });

    it('kills the process group when cancelled', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 800);
      const { result } = await run('wait.py', 'import time\ntime.sleep(60)\n', { signal: controller.signal });
      expect(result.status).toBe('cancelled');
    });

    it('hides secrets from the experiment', async () => {
      process.env.OPENAI_API_KEY = 'sk-secret-value';
      process.env.DATABASE_URL = 'postgres://secret';
      try {
        const { result } = await run(
          'env.py',
          'import os, json\nprint(json.dumps(sorted(os.environ)))\nprint(os.environ.get("MLR_SEED"))\n',
        );
        expect(result.logTail).not.toMatch(/OPENAI_API_KEY|DATABASE_URL|sk-secret|postgres:\/\/secret/);
        expect(result.logTail).toMatch(/\n3\n/);
      } finally {
        delete process.env.OPENAI_API_KEY;
        delete process.env.DATABASE_URL;
      }
    });

    networkIt('isolates the network and records it: a run cannot reach a server on the host', async () => {
      const server = http.createServer((_q, r) => r.end('reachable'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      const probe = `import urllib.request\ntry:\n    print(urllib.request.urlopen("http://127.0.0.1:${port}", timeout=3).read().decode())\nexcept Exception as e:\n    print("blocked", type(e).__name__)\n`;
      try {
        const { result } = await run('net.py', probe);
        expect(result.networkIsolated).toBe(true);
        expect(result.logTail).toContain('blocked');
      } finally {
        server.close();
      }
    });

    it('runs a snapshot in a fresh copy: what the live workspace holds besides it does not count', async () => {
      const ws = freshWorkspace(prepared, 'snap');
      ws.writeFile('quiet.py', 'import os\nprint(sorted(os.listdir(".")))\n');
      const ref = snapshotOf(prepared, ws);
      // Written after the snapshot: a hand-written submission and a later change to the script.
      fs.writeFileSync(path.join(ws.root, 'submission.csv'), 'id,target\n');
      ws.writeFile('quiet.py', 'raise SystemExit(3)\n');
      const { executor } = await backend.make(true);
      const result = await executor.execute({ ...execSpec(prepared, ws, 'quiet.py'), workspace: ref });
      expect(result.exitCode).toBe(0);
      expect(result.logTail).not.toContain('submission.csv');
      expect(result.error).toMatch(/^missing metric: .*submission\.csv/);
      expect(fs.readFileSync(path.join(ws.root, 'submission.csv'), 'utf8')).toBe('id,target\n'); // untouched
    });

    it('clears the outputs an earlier execution left: a script that writes none is not scored with them', async () => {
      const ws = freshWorkspace(prepared, 'stale');
      // A valid submission from an earlier execution, still in the live workspace.
      const starter = await backend.make(true);
      const first = await starter.executor.execute(execSpec(prepared, ws, 'train.py', { seed: 0, timeoutMs: 120_000 }));
      expect(first.status).toBe('succeeded');
      expect(fs.existsSync(path.join(ws.root, 'submission.csv'))).toBe(true);
      ws.writeFile('noop.py', 'print("wrote nothing")\n');
      const { executor } = await backend.make(true);
      const result = await executor.execute(execSpec(prepared, ws, 'noop.py'));
      expect(result.exitCode).toBe(0);
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/^missing metric: .*submission\.csv/);
      expect(fs.existsSync(path.join(ws.root, 'submission.csv'))).toBe(false);
    });

    it('scores a copy of the outputs: a submission that links to another file is not followed', async () => {
      const { result } = await run(
        'link.py',
        `${fs.readFileSync(path.join(prepared.envDir, 'train.py'), 'utf8')}\nimport os\n` +
          'os.rename("submission.csv", "real.csv")\nos.symlink("real.csv", "submission.csv")\n',
        { timeoutMs: 120_000 },
      );
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(/^missing metric/);
    });

    it("voids an execution that changed the task's read-only data, naming the files", async () => {
      const ws = freshWorkspace(prepared, 'tamper');
      ws.writeFile('tamper.py', 'open("data/train.csv", "a").write("1,2,3\\n")\n');
      const { executor } = await backend.make(true);
      const result = await executor.execute({
        ...execSpec(prepared, ws, 'tamper.py'),
        workspace: snapshotOf(prepared, ws),
      });
      expect(result).toMatchObject({ status: 'failed', metrics: null, readOnlyViolations: ['data/train.csv'] });
      expect(result.error).toBe('read-only files changed: data/train.csv');
    });

    it('records how it isolated the execution', async () => {
      const { result } = await run('ok.py', 'print("ok")\n');
      expect(result.sandbox).toBe(backend.sandbox);
    });
  });
}

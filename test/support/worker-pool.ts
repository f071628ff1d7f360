// Worker processes with disks of their own (one MLR_DATA_DIR each) that share only Postgres, Temporal and
// the object store, each telling the fake model who it is (`/wN/v1`), to be killed or stopped by name.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { FakeModel } from './fake-model';
import type { Harness } from './harness';
import type { S3Server } from './s3';
import { spawnWorkerProcess } from './worker-process';

export interface WorkerPool {
  /** Live workers by name (`w1`…). */
  workers: Map<string, { proc: ChildProcess; dir: string }>;
  spawn(): string;
  /** Signals the worker and waits until it has exited; it leaves the pool. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export function workerPool(h: Harness, model: FakeModel, s3: S3Server, root: string): WorkerPool {
  const workers = new Map<string, { proc: ChildProcess; dir: string }>();
  let spawned = 0;
  const pool: WorkerPool = {
    workers,
    spawn() {
      const name = `w${++spawned}`;
      const dir = path.join(root, name);
      const url = model.baseUrl.replace(/\/v1$/, `/${name}/v1`);
      workers.set(name, { proc: spawnWorkerProcess(h, url, { ...s3.env, MLR_DATA_DIR: dir }), dir });
      return name;
    },
    async kill(name, signal = 'SIGKILL') {
      const w = workers.get(name)!;
      workers.delete(name);
      if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
      const exited = new Promise((r) => w.proc.once('exit', r));
      w.proc.kill(signal);
      await exited;
    },
    async close() {
      for (const name of [...workers.keys()]) await pool.kill(name);
    },
  };
  return pool;
}

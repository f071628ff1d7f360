// A real S3-compatible server (versitygw, built with the Kubernetes binaries) on a free port, for tests whose
// workers share nothing but Postgres, Temporal and the object store.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureBinaries, K8S_CACHE } from '../../scripts/k8s/plane';
import { freePort, waitForPort } from '../../src/stack/processes';

export interface S3Server {
  /** The service's settings for this store. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3(dir: string): Promise<S3Server> {
  ensureBinaries();
  const port = await freePort();
  fs.mkdirSync(path.join(dir, 's3'), { recursive: true });
  const child = spawn(
    path.join(K8S_CACHE, 'bin', 'versitygw'),
    ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', path.join(dir, 's3')],
    {
      env: { PATH: process.env.PATH, ROOT_ACCESS_KEY: 'mlr-test', ROOT_SECRET_KEY: 'mlr-test-secret-key' },
      stdio: 'ignore',
    },
  );
  await waitForPort('127.0.0.1', port, 30_000);
  return {
    env: {
      MLR_ARTIFACTS: 's3',
      MLR_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      MLR_S3_BUCKET: 'mlr-artifacts',
      MLR_S3_ACCESS_KEY_ID: 'mlr-test',
      MLR_S3_SECRET_ACCESS_KEY: 'mlr-test-secret-key',
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

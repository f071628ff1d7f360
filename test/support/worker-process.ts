// The real `npm run worker` entry point as its own process, so a test can kill it with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { stack, type Harness } from './harness';
import { ROOT } from './paths';

export function spawnWorkerProcess(h: Harness, modelUrl: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src/worker.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: h.dbUrl,
      TEMPORAL_ADDRESS: stack().temporalAddress,
      MLR_TASK_QUEUE: h.config.MLR_TASK_QUEUE,
      MLR_MODEL: 'fake-model',
      OPENAI_BASE_URL: modelUrl,
      OPENAI_API_KEY: 'sk-test',
      LOG_LEVEL: 'warn',
      SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/graph/v1',
      MLR_S2_RETRIES: '0',
      MLR_DATA_DIR: h.config.MLR_DATA_DIR,
      ...env,
    },
  });
}

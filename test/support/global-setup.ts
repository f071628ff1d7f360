// Starts the real backing services once for the whole suite: embedded Postgres and the Temporal dev
// server from the project venv, and bundles the workflow code once. Test files read stack.json.
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres } from '../../src/stack/postgres';
import { startTemporalDevServer, venvTemporal } from '../../src/stack/temporal';
import { STACK_FILE, TEST_DATA, type StackInfo } from './paths';

export default async function globalSetup(): Promise<void> {
  fs.rmSync(TEST_DATA, { recursive: true, force: true });
  fs.mkdirSync(TEST_DATA, { recursive: true });
  const root = path.resolve(__dirname, '../..');
  // Tasks' own venvs are rebuilt for every suite (under TEST_DATA); the packages they download are kept
  // between suites in the git-ignored cache, as uv keeps them for the service.
  process.env.UV_CACHE_DIR ??= path.join(root, '.cache', 'uv');
  const [pg, temporal, bundle] = await Promise.all([
    startEmbeddedPostgres({ dir: path.join(TEST_DATA, 'pg'), database: 'postgres' }),
    process.env.TEMPORAL_ADDRESS
      ? Promise.resolve({ address: process.env.TEMPORAL_ADDRESS, stop: async () => undefined })
      : startTemporalDevServer({
          binary: venvTemporal(root),
          stateDir: path.join(TEST_DATA, 'temporal'),
          ui: false,
          namespace: 'default',
        }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      logger: {
        log: () => undefined,
        trace: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: (m: string) => console.error(m),
      },
    }),
  ]);
  const bundlePath = path.join(TEST_DATA, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);
  const info: StackInfo = { pgUrl: pg.url, temporalAddress: temporal.address, bundlePath };
  fs.writeFileSync(STACK_FILE, JSON.stringify(info));
  (globalThis as Record<string, unknown>).__MLR_STACK__ = { pg, temporal };
}

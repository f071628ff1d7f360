// Wires real parts together for a test file: a fresh database on the suite's Postgres, a worker on its
// own task queue against the suite's Temporal server, and the API app (driven with inject()).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'pg';
import { createActivities, type ActivityDeps } from '../../src/activities';
import { buildApp } from '../../src/api/app';
import { liveLogFrom } from '../../src/api/server';
import { createRunGateway } from '../../src/clients/temporal';
import { artifactStoreFrom } from '../../src/clients/stores';
import { loadConfig, type Config } from '../../src/config';
import { migrate, type Migration } from '../../src/db/migrate';
import { createActivityDeps } from '../../src/worker';
import type { RunTimeouts } from '../../src/workflows/definitions';
import { STACK_FILE, TEST_DATA, type StackInfo } from './paths';

export const TOKEN = 'test-token-0123456789';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

export function stack(): StackInfo {
  return JSON.parse(fs.readFileSync(STACK_FILE, 'utf8')) as StackInfo;
}

let runtimeReady = false;
function ensureRuntime(): void {
  if (runtimeReady) return;
  runtimeReady = true;
  Runtime.install({ logger: new DefaultLogger((process.env.MLR_TEST_SDK_LOG as 'WARN' | undefined) ?? 'ERROR') });
}

/** A new, migrated database, so test files never see each other's rows. */
export async function createTestDatabase(migrations?: Migration[]): Promise<{ pool: Pool; url: string }> {
  const base = stack().pgUrl;
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new Pool({ connectionString: base, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = base.replace(/\/[^/]*$/, `/${name}`);
  const pool = new Pool({ connectionString: url, max: 10 });
  await migrate(pool, migrations);
  return { pool, url };
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    MLR_API_TOKENS: TOKEN,
    MLR_TASK_QUEUE: `test-${randomUUID()}`,
    MLR_MODEL: 'fake-model',
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/graph/v1',
    MLR_S2_RETRIES: '0',
    MLR_S2_RPS: '1000',
    LOG_LEVEL: 'silent',
    MLR_DATA_DIR: path.join(TEST_DATA, 'data'),
    ...overrides,
  });
}

/** Fast timeouts so worker loss and retries show within seconds. */
// A heartbeat timeout much under 10 s times out healthy activities when python experiments load both cores.
export const testTimeouts: RunTimeouts = { llmStartToCloseSeconds: 60, llmHeartbeatSeconds: 10, llmMaxAttempts: 5 };

export interface Harness {
  config: Config;
  pool: Pool;
  dbUrl: string;
  app: FastifyInstance;
  client: Client;
  /**
   * A worker on the harness's queue. `env` gives it settings of its own (another MLR_DATA_DIR: another
   * machine's disk); `shutdownGraceTime` lets a stopping worker finish the activities it holds.
   */
  startWorker(
    deps?: Partial<ActivityDeps>,
    opts?: { env?: Record<string, string>; shutdownGraceTime?: Duration },
  ): Promise<{ worker: Worker; stop(): Promise<void> }>;
  close(): Promise<void>;
}

export async function createHarness(overrides: Record<string, string> = {}): Promise<Harness> {
  ensureRuntime();
  const config = testConfig(overrides);
  const { pool, url } = await createTestDatabase();
  const connection = await Connection.connect({ address: stack().temporalAddress });
  const client = new Client({ connection, namespace: 'default' });
  const app = await buildApp({
    config,
    db: pool,
    gateway: createRunGateway(client, config.MLR_TASK_QUEUE),
    runTimeouts: testTimeouts,
    ssePollMs: 50,
    store: artifactStoreFrom(config),
    liveLog: liveLogFrom(config),
  });
  const workers: Array<() => Promise<void>> = [];
  return {
    config,
    pool,
    dbUrl: url,
    app,
    client,
    async startWorker(deps = {}, opts = {}) {
      const own = opts.env ? testConfig({ ...overrides, MLR_TASK_QUEUE: config.MLR_TASK_QUEUE, ...opts.env }) : config;
      const nativeConnection = await NativeConnection.connect({ address: stack().temporalAddress });
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue: config.MLR_TASK_QUEUE,
        workflowBundle: { codePath: stack().bundlePath },
        activities: createActivities({ ...(await createActivityDeps(own, pool)), ...deps }),
        stickyQueueScheduleToStartTimeout: '2s',
        ...(opts.shutdownGraceTime ? { shutdownGraceTime: opts.shutdownGraceTime } : {}),
      });
      const running = worker.run();
      let stopped: Promise<void> | undefined;
      const stop = () =>
        (stopped ??= (async () => {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running.catch(() => undefined);
          await nativeConnection.close();
        })());
      workers.push(stop);
      return { worker, stop };
    },
    async close() {
      for (const stop of workers) await stop();
      await app.close();
      await connection.close();
      await pool.end();
    },
  };
}

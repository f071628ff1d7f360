import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import OpenAI from 'openai';
import { Pool } from 'pg';
import path from 'node:path';
import { createActivities, type ActivityDeps } from './activities';
import { createFsArtifactStore } from './experiments/artifacts';
import { createExecutionInputs } from './activities/execution-inputs';
import { createLocalExecutor, detectGpuDevices, detectNetworkIsolation } from './experiments/executor/local';
import { detectCgroups, reapStaleCgroups } from './experiments/executor/cgroup';
import { planSandbox, pythonPaths } from './experiments/executor/sandbox';
import { createOpenAiChatModel } from './clients/llm';
import { createScholarClient } from './clients/scholar';
import { temporalConnectConfig } from './clients/temporal';
import { loadConfig, type Config } from './config';
import { migrate } from './db/migrate';
import type { Queryable } from './db/types';
import { createLogger, type Logger } from './logger';

export interface WorkerDeps {
  config: Config;
  db: Queryable;
  connection: NativeConnection;
  namespace: string;
  /** A prebuilt bundle (tests, benchmarks); bundled from source when absent. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

const ROOT = path.resolve(__dirname, '..');

/** Builds the real clients the activities need from configuration. */
export async function createActivityDeps(config: Config, db: Queryable): Promise<ActivityDeps> {
  const openai = new OpenAI({
    apiKey: config.OPENAI_API_KEY ?? 'not-needed', // compatible servers often ignore the key, the SDK insists on one
    baseURL: config.OPENAI_BASE_URL,
    maxRetries: 0, // Temporal owns retries
    timeout: config.MLR_LLM_TIMEOUT_MS,
  });
  const scholar = createScholarClient({
    baseUrl: config.SEMANTIC_SCHOLAR_BASE_URL,
    apiKey: config.SEMANTIC_SCHOLAR_API_KEY,
    requestsPerSecond: config.MLR_S2_RPS,
    timeoutMs: config.MLR_S2_TIMEOUT_MS,
    retries: config.MLR_S2_RETRIES,
  });
  const python = config.MLR_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');
  const store = createFsArtifactStore(path.join(config.MLR_DATA_DIR, 'artifacts'));
  const isolationPrefix = await detectNetworkIsolation();
  const cgroups = await detectCgroups();
  if (cgroups) reapStaleCgroups(cgroups); // left by a worker that was killed mid-execution
  const inputs = createExecutionInputs({ db, store, config, python });
  // MLR_EXECUTOR picks the backend; every backend takes the same specs and inputs.
  const executor = createLocalExecutor({
    python,
    inputs,
    scratchDir: path.join(config.MLR_DATA_DIR, 'executions'),
    gpuDevices: detectGpuDevices(),
    sandboxScript: path.join(ROOT, 'scripts', 'sandbox.py'),
    store,
    isolationPrefix,
    stateDir: path.join(config.MLR_DATA_DIR, 'executor'),
    sandbox: await planSandbox(config.MLR_SANDBOX),
    // A Python this user cannot run fails its executions with that reason; it must not stop the worker.
    readOnly: await pythonPaths(python).catch(() => []),
    maxLogBytes: config.MLR_EXEC_MAX_LOG_MB * 1024 * 1024,
    maxProcs: config.MLR_EXEC_MAX_PROCS,
    maxFileMb: config.MLR_EXEC_MAX_FILE_MB,
    maxDiskMb: config.MLR_EXEC_MAX_DISK_MB,
    cgroups,
    cpus: config.MLR_EXEC_CPUS,
  });
  return { db, config, model: createOpenAiChatModel(openai), scholar, python, store, executor };
}

export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const source = deps.workflowBundle
    ? { workflowBundle: deps.workflowBundle }
    : { workflowsPath: require.resolve('./workflows') };
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.config.MLR_TASK_QUEUE,
    ...source,
    activities: createActivities(await createActivityDeps(deps.config, deps.db)),
    maxConcurrentActivityTaskExecutions: deps.config.MLR_WORKER_CONCURRENCY,
    maxConcurrentLocalActivityExecutions: deps.config.MLR_WORKER_CONCURRENCY,
    maxCachedWorkflows: 500,
    shutdownGraceTime: '10s',
    identity: `mlr-worker@${process.pid}`,
  });
}

let runtimeInstalled = false;
/** Routes the SDK's logs through pino, its chatty info level (bundler output) as debug; once per process. */
export function installRuntime(logger: Logger, opts: { handleSignals: boolean } = { handleSignals: true }): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLevels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'debug', WARN: 'warn', ERROR: 'error' } as const;
  const log =
    (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) =>
      logger[level](meta ?? {}, message);
  Runtime.install({
    logger: {
      log: (level, message, meta) => log(sdkLevels[level])(message, meta),
      trace: log('trace'),
      debug: log('debug'),
      info: log('debug'),
      warn: log('warn'),
      error: log('error'),
    },
    // `npm start` orders the shutdown itself (API, worker, then the servers), so it takes the signals.
    shutdownSignals: opts.handleSignals ? ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'] : [],
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });
}

/** `npm run worker`: a standalone worker against external Postgres and Temporal. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for a standalone worker (npm start embeds one)');
  installRuntime(logger);
  const pool = new Pool({ connectionString: config.DATABASE_URL });
  pool.on('error', (err) => logger.warn({ err }, 'idle Postgres connection failed'));
  await migrate(pool);
  const { connectionOptions, namespace } = temporalConnectConfig(config, process.env);
  const connection = await NativeConnection.connect(connectionOptions);
  const worker = await createWorker({ config, db: pool, connection, namespace });
  logger.info({ taskQueue: config.MLR_TASK_QUEUE }, 'worker polling');
  await worker.run();
  await connection.close();
  await pool.end();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

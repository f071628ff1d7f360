import { NativeConnection, Runtime, Worker, makeTelemetryFilterString, type WorkerOptions } from '@temporalio/worker';
import OpenAI from 'openai';
import { Pool } from 'pg';
import fs from 'node:fs';
import path from 'node:path';
import { createActivities, type ActivityDeps } from './activities';
import { createExecutionInputs } from './activities/execution-inputs';
import { createLocalExecutor, detectGpuDevices, detectNetworkIsolation } from './experiments/executor/local';
import { createKubernetesExecutor, reapJobs, type TransferStore } from './experiments/executor/kubernetes';
import type { JobSettings } from './experiments/executor/kubernetes/job-spec';
import { createRoutingExecutor, type ExecutionInputs, type Executor } from './experiments/executor/types';
import type { ArtifactStore } from './experiments/artifacts';
import { createJobCluster, loadKubeConfig } from './clients/kubernetes';
import { apiServerTarget, pinHosts, probeNetwork } from './experiments/executor/kubernetes/canary';
import { artifactStoreFrom, s3StoreFrom } from './clients/stores';
import { appendEvent } from './db/events';
import { getRun } from './db/runs';
import { isFinished } from './domain/run-input';
import { detectCgroups, reapStaleCgroups } from './experiments/executor/cgroup';
import {
  planSandbox,
  prepareIsolation,
  pythonPaths,
  scoringIsolation,
  type SandboxPlan,
} from './experiments/executor/sandbox';
import type { Isolate } from './domain/isolate';
import { createCircuitBreaker } from './clients/breaker';
import { createOpenAiChatModel, withBreaker } from './clients/llm';
import { createModeRegistry } from './db/model-endpoints';
import { createHubClient } from './clients/hub';
import { createHubAccess } from './activities/hub';
import { createScholarClient } from './clients/scholar';
import { temporalConnectConfig } from './clients/temporal';
import { ConfigError, loadConfig, type Config } from './config';
import { joinRegistry } from './worker-registry';
import { cachedWorkflowBundle } from './workflow-bundler';
import { ALIVE_FILE } from './healthcheck';
import { prepareSchema } from './db/migrate';
import type { Queryable, Transactional } from './db/types';
import { createLogger, type Logger } from './logger';

export interface WorkerDeps {
  config: Config;
  db: Transactional;
  connection: NativeConnection;
  namespace: string;
  logger?: Logger;
  /** A prebuilt bundle (tests, benchmarks); bundled from source when absent. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

const ROOT = path.resolve(__dirname, '..');

/** Builds the real clients the activities need from configuration. */
export async function createActivityDeps(config: Config, db: Transactional): Promise<ActivityDeps> {
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
    breakerFailures: config.MLR_S2_BREAKER_FAILURES,
    breakerCooldownMs: config.MLR_S2_BREAKER_COOLDOWN_MS,
    maxQueueWaitMs: config.MLR_S2_MAX_QUEUE_WAIT_MS,
  });
  const python = config.MLR_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');
  const s3 = config.executors.includes('kubernetes') || config.MLR_ARTIFACTS === 's3' ? s3StoreFrom(config) : undefined;
  // A fresh store has no bucket yet: the worker makes it (once it exists, this is one HEAD request).
  await s3?.ensureBucket();
  const store = artifactStoreFrom(config, s3);
  // One host check for all: the local backend runs experiments in this sandbox, every backend scores in it,
  // and tasks' prepare.py runs in it.
  const sandbox = await planSandbox(config.MLR_SANDBOX);
  // A Python this user cannot run fails its executions with that reason; it must not stop the worker.
  const readOnly = await pythonPaths(python).catch(() => []);
  const isolate = scoringIsolation(sandbox, readOnly);
  const isolatePrepare = prepareIsolation(sandbox, readOnly);
  const hub = createHubClient({
    python,
    home: path.join(config.MLR_DATA_DIR, 'hub-cache'),
    endpoint: config.HF_ENDPOINT,
    token: config.HF_TOKEN,
    timeoutMs: config.MLR_HUB_TIMEOUT_MS,
  });
  const hubView = createHubAccess({ db, hub, config }).view;
  const inputs = createExecutionInputs({ db, store, config, python, isolatePrepare, hubView });
  // MLR_EXECUTOR is the default backend; MLR_EXECUTORS the others a run may choose. Every backend takes the
  // same specs and inputs.
  const backends: Executor[] = [];
  for (const name of config.executors) {
    backends.push(
      name === 'kubernetes'
        ? await createKubernetesBackend(config, db, { python, inputs, store, transfer: s3!.transfer, isolate })
        : await createLocalBackend(config, { python, inputs, store, sandbox, readOnly }),
    );
  }
  const executor = createRoutingExecutor(backends[0]!, backends.slice(1));
  // One breaker per worker process: an outage seen by one run's calls spares the others the wait.
  const breaker = createCircuitBreaker({
    name: 'the model endpoint',
    failures: config.MLR_LLM_BREAKER_FAILURES,
    cooldownMs: config.MLR_LLM_BREAKER_COOLDOWN_MS,
  });
  const registry = createModeRegistry(db);
  const chat = createOpenAiChatModel(openai, {
    maxTokens: config.MLR_MODEL_RESERVE_TOKENS,
    structured: config.MLR_LLM_STRUCTURED,
    registry,
  });
  const model = withBreaker(chat, breaker);
  return { db, config, model, scholar, python, isolatePrepare, store, executor, hub };
}

export function jobSettingsFrom(config: Config): JobSettings {
  return {
    namespace: config.MLR_K8S_NAMESPACE,
    image: config.MLR_K8S_RUNNER_IMAGE,
    gpuResource: config.MLR_K8S_GPU_RESOURCE,
    gpuTypeLabel: config.MLR_K8S_GPU_TYPE_LABEL,
    nodeSelector: config.MLR_K8S_NODE_SELECTOR,
    tolerations: config.MLR_K8S_TOLERATIONS,
    runtimeClassName: config.MLR_K8S_RUNTIME_CLASS,
    priorityClassName: config.MLR_K8S_PRIORITY_CLASS,
    queue: config.MLR_K8S_QUEUE,
    ttlSecondsAfterFinished: config.MLR_K8S_TTL_SECONDS,
    deadlineMarginSeconds: config.MLR_K8S_DEADLINE_MARGIN_S,
    runAsUser: config.MLR_K8S_RUN_AS_USER,
    ephemeralStorageMb: config.MLR_K8S_EPHEMERAL_STORAGE_MB,
    ...(config.MLR_K8S_ENVS_CLAIM
      ? {
          environments: {
            claim: config.MLR_K8S_ENVS_CLAIM,
            timeoutSeconds: config.MLR_K8S_ENV_BUILD_TIMEOUT_S,
            ...(config.MLR_K8S_ENV_INDEX_URL ? { indexUrl: config.MLR_K8S_ENV_INDEX_URL } : {}),
          },
        }
      : {}),
  };
}

/**
 * The Kubernetes backend, with its network claim checked: pods without a resolver get the object store's
 * address pinned, and where the namespace is said to deny egress (MLR_K8S_NETWORK_POLICY) a canary pod must
 * fail to reach every target, or the worker refuses to start. Executions record what the canary observed.
 */
async function createKubernetesBackend(
  config: Config,
  db: Queryable,
  d: { python: string; inputs: ExecutionInputs; store: ArtifactStore; transfer: TransferStore; isolate?: Isolate },
): Promise<Executor> {
  const kc = loadKubeConfig(config.MLR_K8S_KUBECONFIG);
  const cluster = createJobCluster(kc, config.MLR_K8S_NAMESPACE);
  const settings = jobSettingsFrom(config);
  // The host pods will use is the one presigned URLs name.
  if (config.MLR_K8S_POD_DNS === 'none') settings.pinnedHosts = await pinHosts([await d.transfer.presignGet('-', 60)]);
  if (config.MLR_K8S_NETWORK_POLICY) {
    const targets = [...config.MLR_K8S_CANARY_TARGETS, apiServerTarget(kc.getCurrentCluster()!.server)];
    const verdict = await probeNetwork(cluster, settings, targets, {
      pollMs: config.MLR_K8S_POLL_MS,
      timeoutMs: config.MLR_K8S_CANARY_TIMEOUT_MS,
    });
    if (!verdict.isolated)
      throw new ConfigError(
        `MLR_K8S_NETWORK_POLICY=true, but a canary pod in ${config.MLR_K8S_NAMESPACE} reached ` +
          `${verdict.reached.join(', ')}: the cluster does not enforce the experiments' NetworkPolicy ` +
          '(its network plugin may not support policies). Fix that, or set MLR_K8S_NETWORK_POLICY=false.',
      );
  }
  return createKubernetesExecutor({
    cluster,
    transfer: d.transfer,
    inputs: d.inputs,
    store: d.store,
    python: d.python,
    settings,
    scratchDir: path.join(config.MLR_DATA_DIR, 'executions'),
    pollMs: config.MLR_K8S_POLL_MS,
    pendingTimeoutMs: config.MLR_K8S_PENDING_TIMEOUT_MS,
    // Observed, not configured: true only once the canary failed to get out.
    networkIsolated: config.MLR_K8S_NETWORK_POLICY,
    maxReturnBytes: config.MLR_EXEC_MAX_DISK_MB * 1024 * 1024,
    maxLogBytes: config.MLR_EXEC_MAX_LOG_MB * 1024 * 1024,
    isolate: d.isolate,
    // The run's events stream the Job's phases (queued, pending with its reason, running, …).
    onPhase: (spec, o) =>
      void appendEvent(db, spec.workspace.runId, 'job', {
        job: o.job,
        phase: o.phase,
        reason: o.reason,
        message: o.message?.slice(0, 500),
        node: o.node,
      }).catch(() => undefined),
  });
}

async function createLocalBackend(
  config: Config,
  d: { python: string; inputs: ExecutionInputs; store: ArtifactStore; sandbox: SandboxPlan; readOnly: string[] },
): Promise<Executor> {
  const cgroups = await detectCgroups();
  if (cgroups) reapStaleCgroups(cgroups); // left by a worker that was killed mid-execution
  return createLocalExecutor({
    python: d.python,
    inputs: d.inputs,
    scratchDir: path.join(config.MLR_DATA_DIR, 'executions'),
    gpuDevices: detectGpuDevices(),
    sandboxScript: path.join(ROOT, 'scripts', 'sandbox.py'),
    store: d.store,
    isolationPrefix: await detectNetworkIsolation(),
    stateDir: path.join(config.MLR_DATA_DIR, 'executor'),
    sandbox: d.sandbox,
    readOnly: d.readOnly,
    maxLogBytes: config.MLR_EXEC_MAX_LOG_MB * 1024 * 1024,
    maxProcs: config.MLR_EXEC_MAX_PROCS,
    maxFileMb: config.MLR_EXEC_MAX_FILE_MB,
    maxDiskMb: config.MLR_EXEC_MAX_DISK_MB,
    cgroups,
    cpus: config.MLR_EXEC_CPUS,
  });
}

/**
 * Deletes experiment Jobs whose run is closed (a terminated workflow runs no cleanup), now and every
 * MLR_K8S_REAP_INTERVAL_MS; the timer does not keep the process alive.
 */
export function startJobReaper(config: Config, db: Queryable, logger?: Logger): () => void {
  const cluster = createJobCluster(loadKubeConfig(config.MLR_K8S_KUBECONFIG), config.MLR_K8S_NAMESPACE);
  const isOpen = async (runId: string) => {
    const run = await getRun(db, runId).catch(() => undefined);
    return run !== undefined && !isFinished(run.status, run.until);
  };
  const sweep = () =>
    reapJobs(cluster, isOpen)
      .then((reaped) => reaped.length && logger?.info({ reaped }, 'deleted Jobs of closed runs'))
      .catch((err: unknown) => logger?.warn({ err: (err as Error).message }, 'Job reaper failed'));
  void sweep();
  const timer = setInterval(sweep, config.MLR_K8S_REAP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The worker, registered in Postgres (worker-registry.ts: it refuses to start where its store cannot be
 * shared); `leave` marks it stopped once it has run.
 */
export async function createWorker(deps: WorkerDeps): Promise<{ worker: Worker; leave(): Promise<void> }> {
  // `npm run build` leaves the workflows bundled beside the compiled worker; from source, workflow-bundler.ts.
  const prebuilt = path.join(__dirname, 'workflow-bundle.js');
  const source = deps.workflowBundle
    ? { workflowBundle: deps.workflowBundle }
    : {
        workflowBundle: {
          codePath: fs.existsSync(prebuilt) ? prebuilt : cachedWorkflowBundle(deps.config.MLR_DATA_DIR),
        },
      };
  const registration = await joinRegistry(deps.db, deps.config, {
    logger: deps.logger,
    aliveFile: path.join(deps.config.MLR_DATA_DIR, ALIVE_FILE),
  });
  if (deps.config.executors.includes('kubernetes')) startJobReaper(deps.config, deps.db, deps.logger);
  const worker = await Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.config.MLR_TASK_QUEUE,
    ...source,
    activities: createActivities(await createActivityDeps(deps.config, deps.db)),
    maxConcurrentActivityTaskExecutions: deps.config.MLR_WORKER_CONCURRENCY,
    maxConcurrentLocalActivityExecutions: deps.config.MLR_WORKER_CONCURRENCY,
    maxCachedWorkflows: deps.config.MLR_WORKER_CACHED_WORKFLOWS,
    shutdownGraceTime: '10s',
    identity: registration.id,
  }).catch(async (err: unknown) => {
    await registration.leave();
    throw err;
  });
  return { worker, leave: registration.leave };
}

let runtimeInstalled = false;
/** Routes the SDK's logs through pino, its chatty info level (bundler output) as debug; once per process. */
export function installRuntime(
  logger: Logger,
  opts: { handleSignals: boolean; metricsAddress?: string } = { handleSignals: true },
): void {
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
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) },
      // The SDK's own metrics (task latencies, slots, polls) for Prometheus, where asked for.
      ...(opts.metricsAddress ? { metrics: { prometheus: { bindAddress: opts.metricsAddress } } } : {}),
    },
  });
}

/** `npm run worker`: a standalone worker against external Postgres and Temporal. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required for a standalone worker (npm start embeds one)');
  installRuntime(logger, { handleSignals: true, metricsAddress: config.MLR_WORKER_METRICS_ADDRESS });
  const pool = new Pool({ connectionString: config.DATABASE_URL });
  pool.on('error', (err) => logger.warn({ err }, 'idle Postgres connection failed'));
  await prepareSchema(pool, config.MLR_MIGRATE);
  const { connectionOptions, namespace } = temporalConnectConfig(config, process.env);
  const connection = await NativeConnection.connect(connectionOptions);
  const { worker, leave } = await createWorker({ config, db: pool, connection, namespace, logger });
  logger.info({ taskQueue: config.MLR_TASK_QUEUE }, 'worker polling');
  await worker.run().finally(leave);
  await connection.close();
  await pool.end();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import type { Budget } from './domain/budget';

/** Strict boolean: z.coerce.boolean() would turn "false" into true. */
const BoolEnv = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A JSON-valued variable, parsed and checked against its schema; a bad one is named in the error. */
function jsonEnv<T>(raw: string, schema: z.ZodType<T>, ctx: z.RefinementCtx): T {
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message: parsed.error.issues.map((i) => i.message).join('; ') });
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
  }
  return z.NEVER;
}

export interface ApiUser {
  name: string;
  admin: boolean;
  /** SHA-256 of the token, hex: the token itself is not kept. */
  tokenHash: string;
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** Shortest static token accepted: a short one is guessable, and a fragment of a mis-split entry is short. */
export const MIN_TOKEN_LENGTH = 16;
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

/**
 * `name=token`, `name=token:admin` or a bare token (user `default`), comma-separated. An entry with `=` is
 * always `name=token`, so a base64 token padded with `=` is given with its name (`default=abc…==`): read any
 * other way, `abc==` would be user `abc` with the secret `=`. Ambiguous, short or repeated entries are refused
 * (at start-up), named by position, never by their token.
 */
export function parseApiTokens(raw: string | undefined): ApiUser[] {
  const users: ApiUser[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .entries()) {
    if (!entry) continue;
    const where = `entry ${i + 1}`;
    const eq = entry.indexOf('=');
    const name = eq >= 0 ? entry.slice(0, eq) : 'default';
    let token = eq >= 0 ? entry.slice(eq + 1) : entry;
    if (!USER_NAME.test(name))
      throw new ConfigError(
        `${where} has "=" without a user name before it: write name=token (a token with "=" in it needs its ` +
          'name, e.g. default=…)',
      );
    const admin = token.endsWith(':admin');
    if (admin) token = token.slice(0, -':admin'.length);
    if (!TOKEN_CHARS.test(token))
      throw new ConfigError(`${where}: a token is printable ASCII without spaces or commas`);
    if (token.length < MIN_TOKEN_LENGTH)
      throw new ConfigError(`${where}: its token has ${token.length} characters; at least ${MIN_TOKEN_LENGTH}`);
    const tokenHash = hashToken(token);
    if (seen.has(tokenHash)) throw new ConfigError(`${where} repeats the token of an earlier entry`);
    seen.add(tokenHash);
    users.push({ name, admin, tokenHash });
  }
  return users;
}

const modelPrice = z.object({ prompt: z.number().nonnegative(), completion: z.number().nonnegative() });

/**
 * Every setting the service reads, in one place. README.md's configuration table mirrors this schema;
 * test/config.test.ts checks the two agree.
 */
export const configSchema = z
  .object({
    /** HTTP port of the API. */
    PORT: port(8080),
    /** Interface the API binds to; 0.0.0.0 in containers. */
    HOST: z.string().default('127.0.0.1'),
    /** Where embedded Postgres, the Temporal SQLite file, the API token and pid files live. */
    MLR_DATA_DIR: z.string().default('./.data'),
    /** The Hub (or a mirror) models and datasets are fetched from; huggingface_hub's own variable. */
    HF_ENDPOINT: optionalString.pipe(z.string().url().optional()),
    /** A Hub token for fetches; sent by the worker's Hub client only, never shown to experiments. */
    HF_TOKEN: optionalString,
    /** Most a run's Hub repositories may hold together, in MB (so also the largest one). */
    MLR_HUB_MAX_MB: z.coerce.number().int().min(1).default(2048),
    /** Licences a fetched repository may carry (comma-separated, lower case). */
    MLR_HUB_LICENSES: z
      .string()
      .default('apache-2.0,mit,bsd-2-clause,bsd-3-clause,cc0-1.0,cc-by-4.0,cc-by-sa-4.0,openrail,bigscience-openrail-m')
      .transform((v) =>
        v
          .split(',')
          .map((l) => l.trim().toLowerCase())
          .filter(Boolean),
      ),
    /** Time allowed for one Hub search or inspection (a fetch gets ten times as long). */
    MLR_HUB_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
    /** External Postgres; when set, no embedded Postgres is started. */
    DATABASE_URL: optionalString.pipe(z.string().url().optional()),
    /** Port for embedded Postgres; 0 picks a free one. */
    MLR_PG_PORT: port(0),
    /** External Temporal frontend (host:port); when set, no dev server is started. */
    TEMPORAL_ADDRESS: optionalString,
    TEMPORAL_NAMESPACE: z.string().default('default'),
    /** Read by @temporalio/envconfig together with TEMPORAL_TLS* variables; turns TLS on. */
    TEMPORAL_API_KEY: optionalString,
    /** gRPC and Web UI ports of the embedded Temporal dev server; 0 picks a free one. */
    MLR_TEMPORAL_PORT: port(0),
    MLR_TEMPORAL_UI_PORT: port(0),
    MLR_TASK_QUEUE: z.string().min(1).default('mlr-research'),
    /** OpenAI-compatible endpoint and key. */
    OPENAI_BASE_URL: optionalString.pipe(z.string().url().optional()),
    OPENAI_API_KEY: optionalString,
    /** Default model for every role; the per-role variables override it. */
    MLR_MODEL: optionalString,
    MLR_MODEL_ANALYSIS: optionalString,
    MLR_MODEL_IDEATION: optionalString,
    MLR_MODEL_REVIEW: optionalString,
    /** Model for the ExperimentAgent: task choice, agent steps, edit_script, understand_file, reflection. */
    MLR_MODEL_AGENT: optionalString,
    /** Per-request timeout for model calls. */
    MLR_LLM_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
    /** How many times invalid structured output is re-asked before the run fails. */
    MLR_LLM_REASK: z.coerce.number().int().min(0).max(10).default(2),
    /**
     * How structured answers are asked for: `auto` detects per endpoint and model (json_schema, then json_object
     * with a schema, then a named tool, then a plain prompt); a mode name forces it.
     */
    MLR_LLM_STRUCTURED: z.enum(['auto', 'json_schema', 'json_object', 'tools', 'prompt']).default('auto'),
    /** Model calls failing in a row (5xx, 429, network) before the model's circuit opens, and for how long. */
    MLR_LLM_BREAKER_FAILURES: z.coerce.number().int().min(1).default(5),
    MLR_LLM_BREAKER_COOLDOWN_MS: z.coerce.number().int().min(1000).default(30_000),
    /** Temporal attempts for one model call (429, 5xx, network); 4xx never retries. */
    MLR_LLM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
    /** JSON: {"model": {"prompt": usdPer1MTokens, "completion": usdPer1MTokens}}. Unknown models cost 0. */
    MLR_MODEL_PRICES: z
      .string()
      .default('{}')
      .transform((s, ctx) => {
        try {
          return z.record(z.string(), modelPrice).parse(JSON.parse(s));
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON like {"gpt-4o":{"prompt":2.5,"completion":10}}' });
          return z.NEVER;
        }
      }),
    SEMANTIC_SCHOLAR_BASE_URL: z.string().url().default('https://api.semanticscholar.org/graph/v1'),
    SEMANTIC_SCHOLAR_API_KEY: optionalString,
    /** Requests per second allowed to Semantic Scholar (its unauthenticated limit is shared and low). */
    MLR_S2_RPS: z.coerce.number().positive().default(1),
    /** Searches failing in a row before Semantic Scholar's circuit opens, and how long it stays open. */
    /**
     * Longest a search waits in the rate limiter's queue inside an activity; past it the activity is retried
     * after a durable timer (no worker slot held), up to MLR_S2_BUSY_RETRIES times.
     */
    MLR_S2_MAX_QUEUE_WAIT_MS: z.coerce.number().int().min(0).default(5000),
    MLR_S2_BUSY_RETRIES: z.coerce.number().int().min(0).max(20).default(5),
    MLR_S2_BREAKER_FAILURES: z.coerce.number().int().min(1).default(3),
    MLR_S2_BREAKER_COOLDOWN_MS: z.coerce.number().int().min(1000).default(60_000),
    MLR_S2_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    MLR_S2_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
    MLR_S2_CACHE_TTL_HOURS: z.coerce.number().positive().default(168),
    /**
     * Users and their bearer tokens: comma-separated `name=token`, `name=token:admin`, or a bare token (user
     * `default`). Only SHA-256 hashes are kept after parsing. `npm start` generates a token when unset.
     */
    MLR_API_TOKENS: optionalString,
    /** OIDC issuer whose JWTs are accepted as bearer tokens (JWKS from its discovery document). */
    MLR_OIDC_ISSUER: optionalString.pipe(z.string().url().optional()),
    /** Required `aud` of those JWTs. */
    MLR_OIDC_AUDIENCE: optionalString,
    /** JWKS address; found through the issuer's discovery document when unset. */
    MLR_OIDC_JWKS_URL: optionalString.pipe(z.string().url().optional()),
    /** Claim that names the user (an owner of rows). */
    MLR_OIDC_USER_CLAIM: z.string().min(1).default('sub'),
    /** Users (claim values) who are admins: they see every owner's rows. Comma-separated. */
    MLR_OIDC_ADMINS: z.string().default(''),
    MLR_PUBLIC_DOCS: BoolEnv.default(false),
    /** Requests per minute per user on /v1 (429 beyond). */
    MLR_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
    /** Runs a user may have in progress at once (429 beyond). */
    MLR_MAX_ACTIVE_RUNS_PER_USER: z.coerce.number().int().positive().default(20),
    /** Feedback notes a run accepts (each grows the workflow's history). */
    MLR_MAX_FEEDBACK_PER_RUN: z.coerce.number().int().positive().default(50),
    /** Upper bound on a run's validationSeeds. */
    MLR_MAX_VALIDATION_SEEDS: z.coerce.number().int().min(4).max(50).default(20),
    /** Open event streams per user and in all (429 beyond). */
    MLR_SSE_MAX_PER_USER: z.coerce.number().int().positive().default(20),
    MLR_SSE_MAX_TOTAL: z.coerce.number().int().positive().default(1000),
    /** Papers parsed at once off the event loop, and the time budget of one parse (429 / 422 beyond). */
    MLR_INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
    MLR_INGEST_TIMEOUT_MS: z.coerce.number().int().positive().default(20_000),
    /** Limits of the PDF extraction child: pages read, address space (MB), CPU seconds. */
    MLR_PDF_MAX_PAGES: z.coerce.number().int().positive().default(300),
    MLR_PDF_MEMORY_MB: z.coerce.number().int().min(2048).default(3072),
    MLR_PDF_CPU_SECONDS: z.coerce.number().int().positive().default(60),
    /** How often queued runs whose workflow never started are started again. */
    MLR_SWEEP_INTERVAL_MS: z.coerce.number().int().positive().default(30_000),
    MLR_MAX_UPLOAD_MB: z.coerce.number().positive().max(1024).default(20),
    MLR_DEFAULT_IDEA_COUNT: z.coerce.number().int().min(1).max(10).default(3),
    /** Revision rounds a person may ask for before the run refuses more (bounds model spend). */
    MLR_MAX_REVISIONS: z.coerce.number().int().min(0).max(100).default(5),
    /** Python that runs experiments; the project venv's by default. */
    MLR_PYTHON: optionalString,
    /** The prototype-code library (MLAgentBench layout). */
    MLR_TASKS_DIR: z.string().default('./tasks'),
    /** Agent steps per run (model step + action); bookkeeping does not count. */
    MLR_AGENT_MAX_STEPS: z.coerce.number().int().min(1).max(500).default(30),
    /** Failed candidate executions retried with the error handed to the agent. */
    MLR_MAX_DEBUG_ITERATIONS: z.coerce.number().int().min(0).max(50).default(5),
    /** Per-run budgets over every model call of the run; the run fails when one is spent. */
    MLR_RUN_MAX_TOKENS: z.coerce.number().int().positive().default(2_000_000),
    MLR_RUN_MAX_COST_USD: z.coerce.number().positive().default(10),
    /** A run's default GPU-hours budget (its executions' GPUs × wall time). */
    MLR_RUN_MAX_GPU_HOURS: z.coerce.number().positive().default(24),
    /** A run's default CPU-hours budget (its executions' CPUs × wall time; CPU machines are not free either). */
    MLR_RUN_MAX_CPU_HOURS: z.coerce.number().positive().default(48),
    /** Tokens reserved for a model reply before it arrives (the prompt is estimated from its size). */
    MLR_MODEL_RESERVE_TOKENS: z.coerce.number().int().min(1).default(4096),
    /** Prices of compute, so USD budgets cover executions too: per GPU-hour and per CPU-hour. */
    MLR_GPU_HOUR_USD: z.coerce.number().min(0).default(0),
    MLR_CPU_HOUR_USD: z.coerce.number().min(0).default(0),
    /** What one user may spend in any window of MLR_USER_QUOTA_PERIOD_HOURS, over all their runs and campaigns. */
    MLR_USER_QUOTA_USD: z.coerce.number().positive().optional(),
    MLR_USER_QUOTA_TOKENS: z.coerce.number().int().positive().optional(),
    MLR_USER_QUOTA_GPU_HOURS: z.coerce.number().positive().optional(),
    MLR_USER_QUOTA_CPU_HOURS: z.coerce.number().positive().optional(),
    MLR_USER_QUOTA_PERIOD_HOURS: z.coerce.number().positive().default(24),
    /** Executions one user may have at once, over all their runs and campaigns: more wait for a slot. */
    MLR_MAX_EXECUTIONS_PER_USER: z.coerce.number().int().min(1).default(16),
    /** Campaigns: papers per campaign, runs per campaign, and a user's campaigns in progress at once. */
    MLR_CAMPAIGN_MAX_PAPERS: z.coerce.number().int().min(1).default(500),
    MLR_CAMPAIGN_MAX_RUNS: z.coerce.number().int().min(1).default(5000),
    MLR_MAX_ACTIVE_CAMPAIGNS_PER_USER: z.coerce.number().int().min(1).default(10),
    /** Events in a campaign's history before it continues as new with its compact state. */
    MLR_CAMPAIGN_HISTORY_EVENTS: z.coerce.number().int().min(200).default(4000),
    /** Webhook receiver: decision needed, run finished, budget exhausted, campaign done (HMAC-SHA256 signed). */
    MLR_WEBHOOK_URL: optionalString.pipe(z.string().url().optional()),
    MLR_WEBHOOK_SECRET: optionalString,
    /** Attempts per webhook delivery (exponential backoff from 5 s, at most 10 min apart). */
    MLR_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
    /** Where experiments run: `local` (sandboxed on the worker's machine) or `kubernetes` (a Job each). */
    MLR_EXECUTOR: z.enum(['local', 'kubernetes']).default('local'),
    /** Backends a run may choose with `executor` (comma-separated); MLR_EXECUTOR is always one of them. */
    MLR_EXECUTORS: z
      .string()
      .default('')
      .transform((v, ctx) => {
        const names = v
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean);
        const bad = names.filter((n) => n !== 'local' && n !== 'kubernetes');
        if (bad.length) ctx.addIssue({ code: 'custom', message: `unknown executor(s): ${bad.join(', ')}` });
        return names as Array<'local' | 'kubernetes'>;
      }),
    /** Where logs and code blobs are kept: `fs` under MLR_DATA_DIR, or `s3` (the MLR_S3_* store). */
    MLR_ARTIFACTS: z.enum(['fs', 's3']).default('fs'),
    /** An S3-compatible store (MinIO, versitygw, Ceph, GCS interoperability, AWS S3). */
    MLR_S3_ENDPOINT: optionalString,
    MLR_S3_PUBLIC_ENDPOINT: optionalString,
    MLR_S3_REGION: z.string().default('us-east-1'),
    MLR_S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/)
      .default('mlr-copilot'),
    MLR_S3_ACCESS_KEY_ID: optionalString,
    MLR_S3_SECRET_ACCESS_KEY: optionalString,
    MLR_S3_FORCE_PATH_STYLE: BoolEnv.default(true),
    /** The cluster: a kubeconfig file, else $KUBECONFIG, ~/.kube/config, then the in-cluster account. */
    MLR_K8S_KUBECONFIG: optionalString,
    MLR_K8S_NAMESPACE: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/)
      .default('mlr-experiments'),
    MLR_K8S_RUNNER_IMAGE: z.string().min(1).default('ghcr.io/mlr-copilot/runner:0.1.0'),
    MLR_K8S_GPU_RESOURCE: z.string().min(1).default('nvidia.com/gpu'),
    MLR_K8S_GPU_TYPE_LABEL: z.string().min(1).default('nvidia.com/gpu.product'),
    /** JSON object of node labels every experiment pod must match. */
    MLR_K8S_NODE_SELECTOR: z
      .string()
      .default('{}')
      .transform((v, ctx) => jsonEnv(v, z.record(z.string(), z.string()), ctx)),
    /** JSON array of tolerations for experiment pods. */
    MLR_K8S_TOLERATIONS: z
      .string()
      .default('[]')
      .transform((v, ctx) =>
        jsonEnv(
          v,
          z.array(
            z
              .object({
                key: z.string().optional(),
                operator: z.enum(['Exists', 'Equal']).optional(),
                value: z.string().optional(),
                effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
              })
              .strict(),
          ),
          ctx,
        ),
      ),
    MLR_K8S_RUNTIME_CLASS: optionalString,
    MLR_K8S_PRIORITY_CLASS: optionalString,
    /** A Kueue LocalQueue: Jobs are created suspended with its label, and wait (queued) until admitted. */
    MLR_K8S_QUEUE: optionalString,
    MLR_K8S_TTL_SECONDS: z.coerce.number().int().min(0).default(86_400),
    MLR_K8S_DEADLINE_MARGIN_S: z.coerce.number().int().min(1).default(600),
    MLR_K8S_RUN_AS_USER: z.coerce.number().int().min(1).default(1000),
    MLR_K8S_EPHEMERAL_STORAGE_MB: z.coerce.number().int().min(256).default(20_480),
    MLR_K8S_POLL_MS: z.coerce.number().int().min(100).default(2000),
    /** How long a pod may wait on a reason no waiting fixes (Unschedulable, ImagePullBackOff …). */
    MLR_K8S_PENDING_TIMEOUT_MS: z.coerce.number().int().min(1000).default(600_000),
    /** The experiments namespace denies pods all egress but the object store (k8s/ applies that policy). */
    MLR_K8S_NETWORK_POLICY: BoolEnv.default(false),
    /**
     * `none`: experiment pods have no resolver, only the object store's address pinned in /etc/hosts (DNS
     * queries could carry data out through the cluster's resolver); `cluster`: the cluster's DNS.
     */
    MLR_K8S_POD_DNS: z.enum(['none', 'cluster']).default('none'),
    /** What the start-up canary must fail to reach (host:port, or dns:<name>), besides the API server. */
    MLR_K8S_CANARY_TARGETS: z
      .string()
      .default('1.1.1.1:443,169.254.169.254:80,dns:example.com')
      .transform((v) =>
        v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      )
      .refine(
        (ts) =>
          ts.length <= 16 && ts.every((t) => /^(dns:[A-Za-z0-9.-]{1,253}|[A-Za-z0-9.:[\]-]{1,200}:\d{1,5})$/.test(t)),
        {
          message: 'a comma-separated list of host:port or dns:<name>, at most 16',
        },
      ),
    MLR_K8S_CANARY_TIMEOUT_MS: z.coerce.number().int().min(5000).default(300_000),
    /**
     * A ReadWriteMany PersistentVolumeClaim in the experiments namespace for tasks' own environments: a build
     * Job installs each into it once, experiment pods mount it read-only. Unset: such tasks run on `local` only.
     */
    MLR_K8S_ENVS_CLAIM: optionalString.refine(
      (v) => v === undefined || /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(v),
      {
        message: 'a PersistentVolumeClaim name (DNS-1123)',
      },
    ),
    /** The deadline of one environment build Job (a CUDA PyTorch environment downloads gigabytes). */
    MLR_K8S_ENV_BUILD_TIMEOUT_S: z.coerce.number().int().min(60).default(3600),
    /** The package index environment builds install from (a mirror); unset: PyPI. */
    MLR_K8S_ENV_INDEX_URL: optionalString.refine((v) => v === undefined || /^https?:\/\/\S+$/.test(v), {
      message: 'an http(s) URL',
    }),
    /** How often the worker deletes Jobs whose run is closed. */
    MLR_K8S_REAP_INTERVAL_MS: z.coerce.number().int().min(1000).default(300_000),
    /** Wall-clock limit and memory limit of one experiment execution (a task's `resources` may set its own). */
    MLR_EXEC_TIMEOUT_MS: z.coerce.number().int().positive().default(600_000),
    MLR_EXEC_MEMORY_MB: z.coerce.number().int().min(64).default(4096),
    /**
     * Isolation of experiment code: `auto`/`bwrap` run it in bubblewrap (refused with a clear error where the
     * host cannot), `none` is the operator's explicit opt-out, recorded on every execution.
     */
    MLR_SANDBOX: z.enum(['auto', 'bwrap', 'none']).default('auto'),
    /** Processes one sandboxed execution may have (when the worker runs as root), and its largest file. */
    MLR_EXEC_MAX_PROCS: z.coerce.number().int().min(16).default(512),
    MLR_EXEC_MAX_FILE_MB: z.coerce.number().int().min(1).default(4096),
    /** Most one workspace may hold on disk while an execution runs (data included). */
    MLR_EXEC_MAX_DISK_MB: z.coerce.number().int().min(16).default(20_480),
    /**
     * Most a run's working copy carries from one step to the next (what differs from the starter): committed to
     * the object store after every step, so any worker can carry the run on. Beyond it, files are removed and
     * the agent is told.
     */
    MLR_WORKSPACE_CARRY_MB: z.coerce.number().int().min(1).default(256),
    /** CPUs' worth of time one execution may use, where cgroups are available; unset leaves it unlimited. */
    MLR_EXEC_CPUS: z.coerce.number().positive().optional(),
    MLR_MAX_EXEC_CPUS: z.coerce.number().positive().default(32),
    MLR_MAX_EXEC_MEMORY_MB: z.coerce.number().int().min(64).default(131_072),
    MLR_MAX_EXEC_GPUS: z.coerce.number().int().min(0).default(8),
    /** Output of one execution kept for its log (head and tail, a marker between); the rest is dropped. */
    MLR_EXEC_MAX_LOG_MB: z.coerce.number().positive().max(1024).default(16),
    /** Longest observation handed back to the agent; longer ones keep their head and tail. */
    MLR_OBSERVATION_MAX_CHARS: z.coerce.number().int().min(500).default(8000),
    /** Seed of the baseline and candidate executions. */
    MLR_EXPERIMENT_SEED: z.coerce.number().int().min(0).default(0),
    /**
     * Seeds per arm in the validation stage and how many executions run at once. At least 4: with 3 the exact
     * permutation test's smallest p is 0.1, and no idea could ever be supported at 0.05 (validation/verdict.ts).
     */
    MLR_VALIDATION_SEEDS: z.coerce.number().int().min(4).max(50).default(5),
    MLR_VALIDATION_PARALLELISM: z.coerce.number().int().min(1).max(32).default(2),
    /** Concurrent activities one worker runs. */
    MLR_WORKER_CONCURRENCY: z.coerce.number().int().positive().default(50),
    /**
     * Workflows a worker keeps in memory between tasks. Runs parked for days (awaiting approval) need none: an
     * evicted one replays its short history when it wakes. Each costs memory, so this bounds the worker's RSS.
     */
    /**
     * `apply`: the API and workers migrate the schema at start (under an advisory lock). `check`: they only check
     * it is current, where migrations run once per release ahead of them (the chart's hook Job).
     */
    MLR_MIGRATE: z.enum(['apply', 'check']).default('apply'),
    MLR_WORKER_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(500),
    /** host:port where the worker serves the Temporal SDK's Prometheus metrics (e.g. 0.0.0.0:9464); unset: off. */
    MLR_WORKER_METRICS_ADDRESS: optionalString,
    /** Start the embedded Temporal Web UI. */
    MLR_TEMPORAL_UI: BoolEnv.default(true),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    try {
      parseApiTokens(c.MLR_API_TOKENS);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['MLR_API_TOKENS'], message: (err as Error).message });
    }
    const s3 = c.MLR_EXECUTOR === 'kubernetes' || c.MLR_EXECUTORS.includes('kubernetes') || c.MLR_ARTIFACTS === 's3';
    if (s3 && !c.MLR_S3_ENDPOINT && !c.MLR_S3_ACCESS_KEY_ID) {
      ctx.addIssue({
        code: 'custom',
        path: ['MLR_S3_ENDPOINT'],
        message: `MLR_EXECUTOR=kubernetes and MLR_ARTIFACTS=s3 need an object store: set MLR_S3_ENDPOINT and its keys`,
      });
    }
    if (c.MLR_OIDC_ISSUER && !c.MLR_OIDC_AUDIENCE) {
      ctx.addIssue({
        code: 'custom',
        path: ['MLR_OIDC_AUDIENCE'],
        message:
          'MLR_OIDC_ISSUER needs MLR_OIDC_AUDIENCE: without it, a token the issuer made for any other application would be accepted',
      });
    }
    if (c.MLR_WEBHOOK_URL && (c.MLR_WEBHOOK_SECRET ?? '').length < 16) {
      ctx.addIssue({
        code: 'custom',
        path: ['MLR_WEBHOOK_SECRET'],
        message: 'MLR_WEBHOOK_URL needs MLR_WEBHOOK_SECRET (at least 16 characters) to sign its deliveries',
      });
    }
  })
  // The tokens themselves are dropped here: only their hashes (apiUsers) live on in the process.
  .transform(({ MLR_API_TOKENS: tokens, ...c }) => ({
    ...c,
    MLR_DATA_DIR: path.resolve(c.MLR_DATA_DIR),
    MLR_TASKS_DIR: path.resolve(c.MLR_TASKS_DIR),
    apiUsers: parseApiTokens(tokens),
    /** The backends experiments may run on here, the default first. */
    executors: [...new Set([c.MLR_EXECUTOR, ...c.MLR_EXECUTORS])],
    oidcAdmins: c.MLR_OIDC_ADMINS.split(',')
      .map((a) => a.trim())
      .filter(Boolean),
  }));

export type Config = z.output<typeof configSchema>;

/** The operator's ceiling on each user's spend per period (MLR_USER_QUOTA_*), or undefined when none is set. */
export const userQuota = (config: Config): { budget: Budget; periodHours: number } | undefined => {
  const budget: Budget = {
    ...(config.MLR_USER_QUOTA_USD !== undefined ? { usd: config.MLR_USER_QUOTA_USD } : {}),
    ...(config.MLR_USER_QUOTA_TOKENS !== undefined ? { tokens: config.MLR_USER_QUOTA_TOKENS } : {}),
    ...(config.MLR_USER_QUOTA_GPU_HOURS !== undefined ? { gpuHours: config.MLR_USER_QUOTA_GPU_HOURS } : {}),
    ...(config.MLR_USER_QUOTA_CPU_HOURS !== undefined ? { cpuHours: config.MLR_USER_QUOTA_CPU_HOURS } : {}),
  };
  return Object.keys(budget).length > 0 ? { budget, periodHours: config.MLR_USER_QUOTA_PERIOD_HOURS } : undefined;
};

/** A run's budget when it was given none (MLR_RUN_MAX_*). */
export const defaultRunBudget = (config: Config): Required<Budget> => ({
  usd: config.MLR_RUN_MAX_COST_USD,
  tokens: config.MLR_RUN_MAX_TOKENS,
  gpuHours: config.MLR_RUN_MAX_GPU_HOURS,
  cpuHours: config.MLR_RUN_MAX_CPU_HOURS,
});

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; the message names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

export type ModelRole = 'analysis' | 'ideation' | 'review' | 'agent';

/** The model for a role, or undefined when none is configured. */
export function modelFor(config: Config, role: ModelRole): string | undefined {
  const byRole = {
    analysis: config.MLR_MODEL_ANALYSIS,
    ideation: config.MLR_MODEL_IDEATION,
    review: config.MLR_MODEL_REVIEW,
    agent: config.MLR_MODEL_AGENT,
  };
  return byRole[role] ?? config.MLR_MODEL;
}

/** Why runs cannot start, or undefined when a model is configured. */
export function modelConfigProblem(config: Config): string | undefined {
  if (!config.MLR_MODEL) return 'no model is configured: set MLR_MODEL (and OPENAI_API_KEY or OPENAI_BASE_URL)';
  if (!config.OPENAI_API_KEY && !config.OPENAI_BASE_URL) {
    return 'no model endpoint is configured: set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (a compatible server)';
  }
  return undefined;
}

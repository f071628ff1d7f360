// The options a run and a campaign share, checked one way and turned into a run's workflow input one way.
import { modelConfigProblem, type Config } from '../config';
import { HttpError } from '../errors';
import { inspectTasks } from '../tasks/library';
import { MIN_SEEDS } from '../validation/verdict';
import type { RunTemplate } from '../domain/campaign-input';
import type { ApprovalTimeout, RunMode, RunTimeouts, RunUntil } from '../domain/run-input';

export interface RunOptions {
  mode?: RunMode;
  ideaCount?: number;
  taskId?: string;
  until?: RunUntil;
  executor?: 'local' | 'kubernetes';
  validationSeeds?: number;
  approvalTimeout?: ApprovalTimeout;
  resources?: RunTemplate['resources'];
}

/** JSON-schema properties of those options, for both routes' bodies. */
export const runOptionProperties = {
  mode: { type: 'string', enum: ['supervised', 'autonomous'] },
  ideaCount: { type: 'integer', minimum: 1, maximum: 10 },
  taskId: {
    type: 'string',
    minLength: 1,
    maxLength: 200,
    description: 'Pin the library task instead of letting the agent choose',
  },
  until: {
    type: 'string',
    enum: ['approved', 'measured', 'succeeded'],
    description: 'Stop after approval, after the measured candidate, or after validation and the report (default)',
  },
  executor: {
    type: 'string',
    enum: ['local', 'kubernetes'],
    description: "Where this run's experiments run (one of MLR_EXECUTORS; default MLR_EXECUTOR)",
  },
  validationSeeds: {
    type: 'integer',
    minimum: MIN_SEEDS,
    maximum: 50,
    description:
      `Seeds per arm in the validation stage (default MLR_VALIDATION_SEEDS, at most MLR_MAX_VALIDATION_SEEDS; at ` +
      `least ${MIN_SEEDS}: with fewer the exact test could never reach p < 0.05)`,
  },
  approvalTimeout: {
    type: 'object',
    required: ['seconds', 'action'],
    additionalProperties: false,
    properties: {
      seconds: { type: 'integer', minimum: 1, maximum: 60 * 60 * 24 * 365 },
      action: { type: 'string', enum: ['approve_top', 'fail'] },
    },
  },
} as const;

/** Each task must be in the library and scorable as it stands: 422 naming the first that is not, and why. */
export function requireTasks(config: Config, ids: string[]): void {
  const { tasks, refused } = inspectTasks(config.MLR_TASKS_DIR);
  for (const id of ids) {
    const why = refused.find((r) => r.taskId === id);
    if (why) throw new HttpError(422, 'TaskRefused', why.message);
    if (!tasks.some((t) => t.id === id))
      throw new HttpError(422, 'UnknownTask', `task ${id} is not in the task library`);
  }
}

export function checkRunOptions(config: Config, o: RunOptions): void {
  if (o.taskId !== undefined) requireTasks(config, [o.taskId]);
  if (o.validationSeeds !== undefined && o.validationSeeds > config.MLR_MAX_VALIDATION_SEEDS) {
    throw new HttpError(
      400,
      'InvalidRequest',
      `body/validationSeeds must be <= ${config.MLR_MAX_VALIDATION_SEEDS} (MLR_MAX_VALIDATION_SEEDS)`,
    );
  }
  const r = o.resources;
  const over = (
    [
      ['cpu', r?.cpu, config.MLR_MAX_EXEC_CPUS, 'MLR_MAX_EXEC_CPUS'],
      ['memoryMb', r?.memoryMb, config.MLR_MAX_EXEC_MEMORY_MB, 'MLR_MAX_EXEC_MEMORY_MB'],
      ['gpus', r?.gpus, config.MLR_MAX_EXEC_GPUS, 'MLR_MAX_EXEC_GPUS'],
    ] as const
  ).find(([, asked, max]) => asked !== undefined && asked > max);
  if (over) {
    const [field, asked, max, name] = over;
    throw new HttpError(
      422,
      'ResourcesOverLimit',
      `body/resources/${field} ${asked} is more than one execution may have here: at most ${max} (${name})`,
    );
  }
  if (o.executor !== undefined && !config.executors.includes(o.executor)) {
    throw new HttpError(
      400,
      'ExecutorUnavailable',
      `body/executor ${o.executor} is not enabled here; enabled: ${config.executors.join(', ')} (MLR_EXECUTORS)`,
    );
  }
}

/** Everything of a run's workflow input but its ids. */
export function runTemplate(config: Config, timeouts: RunTimeouts, o: RunOptions): RunTemplate {
  return {
    mode: o.mode ?? 'supervised',
    ideaCount: o.ideaCount ?? config.MLR_DEFAULT_IDEA_COUNT,
    approvalTimeout: o.approvalTimeout,
    maxRevisions: config.MLR_MAX_REVISIONS,
    timeouts,
    until: o.until ?? 'succeeded',
    experiment: {
      maxSteps: config.MLR_AGENT_MAX_STEPS,
      maxDebugIterations: config.MLR_MAX_DEBUG_ITERATIONS,
      execTimeoutSeconds: Math.ceil(config.MLR_EXEC_TIMEOUT_MS / 1000),
    },
    validation: {
      seeds: o.validationSeeds ?? config.MLR_VALIDATION_SEEDS,
      parallelism: config.MLR_VALIDATION_PARALLELISM,
    },
    ...(o.executor ? { executor: o.executor } : {}),
    ...(o.resources ? { resources: o.resources } : {}),
    ...(config.MLR_WEBHOOK_URL ? { webhookAttempts: config.MLR_WEBHOOK_MAX_ATTEMPTS } : {}),
  };
}

/** Work that calls a model cannot start without one: 503 saying what to configure. */
export function requireModel(config: Config): void {
  const problem = modelConfigProblem(config);
  if (problem) throw new HttpError(503, 'ModelNotConfigured', problem);
}

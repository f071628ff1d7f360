import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { modelConfigProblem } from '../../config';
import { appendEvent } from '../../db/events';
import { ideasForRound } from '../../db/ideas';
import { usageForRun } from '../../db/llm-calls';
import { getPaper } from '../../db/papers';
import { experimentsForRun } from '../../db/experiments';
import { deleteRun, getRun, insertRun, listRuns, type RunRow } from '../../db/runs';
import { HttpError } from '../../errors';
import { listTasks } from '../../tasks/library';
import { RUN_STATUSES, isFinished, workflowIdFor, type ApprovalTimeout, type Decision, type RunMode, type RunStatus, type RunUntil } from '../../workflows/definitions';
import type { AppDeps } from '../app';
import { errorResponses, runSchema, uuidParam } from '../schemas';
import { decodeCursor, encodeCursor, runView } from '../views';

interface CreateRunBody {
  paperId: string;
  mode?: RunMode;
  ideaCount?: number;
  approvalTimeout?: ApprovalTimeout;
  taskId?: string;
  until?: RunUntil;
  validationSeeds?: number;
}

const createRunBody = {
  type: 'object',
  required: ['paperId'],
  additionalProperties: false,
  properties: {
    paperId: { type: 'string', format: 'uuid' },
    mode: { type: 'string', enum: ['supervised', 'autonomous'] },
    ideaCount: { type: 'integer', minimum: 1, maximum: 10 },
    taskId: { type: 'string', minLength: 1, maxLength: 200, description: 'Pin the library task instead of letting the agent choose' },
    until: { type: 'string', enum: ['approved', 'measured', 'succeeded'], description: 'Stop after approval, after the measured candidate, or after validation and the report (default)' },
    validationSeeds: { type: 'integer', minimum: 3, maximum: 50, description: 'Seeds per arm in the validation stage (default MLR_VALIDATION_SEEDS)' },
    approvalTimeout: {
      type: 'object',
      required: ['seconds', 'action'],
      additionalProperties: false,
      properties: {
        seconds: { type: 'integer', minimum: 1, maximum: 60 * 60 * 24 * 365 },
        action: { type: 'string', enum: ['approve_top', 'fail'] },
      },
    },
  },
} as const;

const decisionBody = {
  type: 'object',
  required: ['decision'],
  additionalProperties: false,
  properties: {
    decision: { type: 'string', enum: ['approve', 'revise', 'reject'] },
    ideaId: { type: 'string', format: 'uuid' },
    feedback: { type: 'string', minLength: 1, maxLength: 20_000 },
  },
} as const;

export async function runRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { db, config, gateway } = deps;

  async function loadRunView(run: RunRow) {
    const [ideas, usage, experiments] = await Promise.all([ideasForRound(db, run.id, run.round), usageForRun(db, run.id), experimentsForRun(db, run.id)]);
    return runView(run, ideas, usage, experiments);
  }

  async function mustGetRun(id: string): Promise<RunRow> {
    const run = await getRun(db, id);
    if (!run) throw new HttpError(404, 'NotFound', `run ${id} not found`);
    return run;
  }

  app.post<{ Body: CreateRunBody; Headers: { 'idempotency-key'?: string } }>('/v1/runs', {
    schema: {
      body: createRunBody,
      headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 200 } } },
      response: { 201: runSchema, ...errorResponses },
    },
  }, async (req, reply) => {
    const problem = modelConfigProblem(config);
    if (problem) throw new HttpError(503, 'ModelNotConfigured', problem);
    const body = req.body;
    if (!(await getPaper(db, body.paperId))) throw new HttpError(404, 'NotFound', `paper ${body.paperId} not found`);
    if (body.taskId !== undefined && !listTasks(config.MLR_TASKS_DIR).some((t) => t.id === body.taskId)) {
      throw new HttpError(422, 'UnknownTask', `task ${body.taskId} is not in the task library`);
    }
    const key = req.headers['idempotency-key'];
    // Key order must not matter: the same request in another field order is the same request.
    const canonical = JSON.stringify(Object.fromEntries(Object.entries(body).sort(([a], [b]) => a.localeCompare(b))));
    const requestHash = createHash('sha256').update(canonical).digest('hex');
    const id = randomUUID();
    const input = {
      runId: id,
      paperId: body.paperId,
      mode: body.mode ?? 'supervised',
      ideaCount: body.ideaCount ?? config.MLR_DEFAULT_IDEA_COUNT,
      approvalTimeout: body.approvalTimeout,
      maxRevisions: config.MLR_MAX_REVISIONS,
      timeouts: deps.runTimeouts,
      until: body.until ?? 'succeeded',
      experiment: {
        maxSteps: config.MLR_AGENT_MAX_STEPS, maxDebugIterations: config.MLR_MAX_DEBUG_ITERATIONS,
        execTimeoutSeconds: Math.ceil(config.MLR_EXEC_TIMEOUT_MS / 1000),
      },
      validation: { seeds: body.validationSeeds ?? config.MLR_VALIDATION_SEEDS, parallelism: config.MLR_VALIDATION_PARALLELISM },
    };
    const { run, created } = await insertRun(db, { ...input, id, workflowId: workflowIdFor(id), idempotencyKey: key, requestHash, taskId: body.taskId });
    if (!created && run.request_hash !== requestHash) {
      throw new HttpError(409, 'IdempotencyKeyReused', 'this Idempotency-Key was used with a different request body');
    }
    if (created) await appendEvent(db, id, 'created', { mode: input.mode, ideaCount: input.ideaCount });
    try {
      // On a replay this re-attaches to the existing workflow (USE_EXISTING), covering a crash between
      // the insert and the start of the first attempt.
      await gateway.start(created ? input : { ...input, runId: run.id, paperId: run.paper_id, mode: run.mode, ideaCount: run.idea_count, approvalTimeout: run.approval_timeout ?? undefined, until: run.until });
    } catch (err) {
      if (created) await deleteRun(db, id).catch(() => undefined);
      req.log.error({ err }, 'could not start the run workflow');
      throw new HttpError(503, 'TemporalUnavailable', 'could not start the run: Temporal is unreachable; retry shortly', { 'retry-after': '5' });
    }
    if (!created) reply.header('idempotent-replayed', 'true');
    return reply.code(201).send(await loadRunView((await getRun(db, run.id))!));
  });

  app.get<{ Querystring: { status?: RunStatus; paperId?: string; cursor?: string; limit?: number } }>('/v1/runs', {
    schema: {
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          status: { type: 'string', enum: RUN_STATUSES },
          paperId: { type: 'string', format: 'uuid' },
          cursor: { type: 'string' },
          limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
        },
      },
      response: { 200: { type: 'object', properties: { items: { type: 'array', items: runSchema }, nextCursor: { type: ['string', 'null'] } } }, ...errorResponses },
    },
  }, async (req) => {
    const limit = req.query.limit ?? 20;
    const rows = await listRuns(db, { status: req.query.status, paperId: req.query.paperId, before: decodeCursor(req.query.cursor), limit });
    return {
      items: await Promise.all(rows.map(loadRunView)),
      nextCursor: rows.length === limit ? encodeCursor(rows[rows.length - 1]!) : null,
    };
  });

  app.get<{ Params: { id: string } }>('/v1/runs/:id', {
    schema: { params: uuidParam, response: { 200: runSchema, ...errorResponses } },
  }, async (req) => loadRunView(await mustGetRun(req.params.id)));

  app.post<{ Params: { id: string }; Body: Decision; Headers: { 'idempotency-key'?: string } }>('/v1/runs/:id/approval', {
    schema: { params: uuidParam, body: decisionBody, response: { 200: runSchema, ...errorResponses } },
  }, async (req) => {
    const run = await mustGetRun(req.params.id);
    if (req.body.decision === 'revise' && !req.body.feedback) throw new HttpError(400, 'InvalidDecision', 'body/feedback is required to revise');
    if (run.status !== 'awaiting_approval') throw new HttpError(409, 'NotAwaitingApproval', `run is ${run.status}, not awaiting approval`);
    await gateway.decide(run.workflow_id, req.body, req.headers['idempotency-key'] ?? randomUUID());
    return loadRunView(await mustGetRun(run.id));
  });

  app.post<{ Params: { id: string } }>('/v1/runs/:id/cancel', {
    schema: { params: uuidParam, response: { 202: runSchema, ...errorResponses } },
  }, async (req, reply) => {
    const run = await mustGetRun(req.params.id);
    if (isFinished(run.status, run.until)) throw new HttpError(409, 'RunFinished', `run is already ${run.status}`);
    await gateway.cancel(run.workflow_id);
    return reply.code(202).send(await loadRunView(run));
  });
}

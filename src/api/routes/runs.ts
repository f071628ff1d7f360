import { createHash, randomUUID } from 'node:crypto';
import { defaultRunBudget } from '../../config';
import { experimentsForRuns } from '../../db/experiments';
import { hubReposForRuns } from '../../db/hub-repos';
import { ideasForRuns } from '../../db/ideas';
import { spendOfRuns } from '../../db/ledger';
import { usageForRuns } from '../../db/llm-calls';
import { countActiveRuns, getRun, insertRun, listRuns, topUpRunBudget, type RunRow } from '../../db/runs';
import type { Queryable } from '../../db/types';
import { scopeOf } from '../../domain/user';
import { HttpError } from '../../errors';
import { RUN_STATUSES, TERMINAL_STATUSES, isFinished, workflowIdFor, type RunInput } from '../../domain/run-input';
import { loadPaperOr404, loadRunOr404 } from '../access';
import { checkRunOptions, requireModel, runOptionProperties, runTemplate } from '../run-options';
import { applyDecision } from '../decisions';
import type { RouteDeps } from '../types';
import { budgetSchema, errorResponses, idempotencyHeader, pageSchema, runSchema, uuidParam } from '../schemas';
import type { RoutePlugin } from '../types';
import { decodeCursor, encodeCursor, runView } from '../views';

const createRunBody = {
  type: 'object',
  required: ['paperId'],
  additionalProperties: false,
  properties: {
    paperId: { type: 'string', format: 'uuid' },
    ...runOptionProperties,
  },
} as const;

export const decisionBody = {
  type: 'object',
  required: ['decision'],
  additionalProperties: false,
  properties: {
    decision: { type: 'string', enum: ['approve', 'revise', 'reject'] },
    ideaId: { type: 'string', format: 'uuid' },
    feedback: { type: 'string', minLength: 1, maxLength: 20_000 },
    hub: {
      type: 'array',
      maxItems: 5,
      items: {
        type: 'object',
        required: ['kind', 'id'],
        additionalProperties: false,
        properties: {
          kind: { type: 'string', enum: ['model', 'dataset'] },
          id: { type: 'string', minLength: 1, maxLength: 200 },
        },
      },
    },
  },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: RUN_STATUSES },
    paperId: { type: 'string', format: 'uuid' },
    campaignId: { type: 'string', format: 'uuid' },
    cursor: { type: 'string', maxLength: 200 },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  },
} as const;

/**
 * The views of a page of runs in five queries whatever its length (ideas, usage, executions, spend, Hub
 * repositories), not five per run: the console and scripts poll lists, and a page of 100 once cost 400 round trips.
 */
export async function loadRunViews(db: Queryable, runs: RunRow[]) {
  const ids = runs.map((r) => r.id);
  const [ideas, usage, experiments, spend, hub] = await Promise.all([
    ideasForRuns(db, runs),
    usageForRuns(db, ids),
    experimentsForRuns(db, ids),
    spendOfRuns(db, ids),
    hubReposForRuns(db, ids),
  ]);
  return runs.map((r) =>
    runView(r, ideas.get(r.id)!, usage.get(r.id)!, experiments.get(r.id)!, spend.get(r.id)!, hub.get(r.id)!),
  );
}

export async function loadRunView(db: Queryable, run: RunRow) {
  return (await loadRunViews(db, [run]))[0]!;
}

export const runRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  const { db, config, gateway } = deps;

  app.post(
    '/v1/runs',
    {
      schema: {
        body: createRunBody,
        headers: idempotencyHeader,
        response: { 201: runSchema, 202: runSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      requireModel(config);
      const body = req.body;
      const owner = req.principal.name;
      await loadPaperOr404(db, body.paperId, req.principal);
      checkRunOptions(config, body);
      const key = req.headers['idempotency-key'];
      // Key order must not matter: the same request in another field order is the same request.
      const canonical = JSON.stringify(Object.fromEntries(Object.entries(body).sort(([a], [b]) => a.localeCompare(b))));
      const requestHash = createHash('sha256').update(canonical).digest('hex');
      const id = randomUUID();
      const input: RunInput = { ...runTemplate(config, deps.runTimeouts, body), runId: id, paperId: body.paperId };
      const replay = key ? (await listRuns(db, { scope: owner, limit: 1, idempotencyKey: key }))[0] : undefined;
      if (!replay && (await countActiveRuns(db, owner, TERMINAL_STATUSES)) >= config.MLR_MAX_ACTIVE_RUNS_PER_USER) {
        throw new HttpError(
          429,
          'TooManyActiveRuns',
          `you have ${config.MLR_MAX_ACTIVE_RUNS_PER_USER} runs in progress (MLR_MAX_ACTIVE_RUNS_PER_USER); wait for one to finish or cancel one`,
          { 'retry-after': '60' },
        );
      }
      const { run, created } = await insertRun(
        db,
        {
          id,
          owner,
          paperId: body.paperId,
          workflowId: workflowIdFor(id),
          mode: input.mode,
          ideaCount: input.ideaCount,
          approvalTimeout: input.approvalTimeout,
          idempotencyKey: key,
          requestHash,
          taskId: body.taskId,
          until: input.until,
          input,
        },
        { mode: input.mode, ideaCount: input.ideaCount },
      );
      if (!created && run.request_hash !== requestHash) {
        throw new HttpError(409, 'IdempotencyKeyReused', 'this Idempotency-Key was used with a different request body');
      }
      if (!created) reply.header('idempotent-replayed', 'true');
      try {
        // On a replay this re-attaches to the existing workflow (USE_EXISTING), covering a crash between
        // the insert and the start of the first attempt.
        await gateway.start(run.input ?? { ...input, runId: run.id, paperId: run.paper_id });
      } catch (err) {
        // The run and its first event are stored; the sweeper starts it once Temporal answers again.
        req.log.warn({ err, runId: run.id }, 'could not start the run workflow; the sweeper will retry');
        return reply
          .code(202)
          .header('retry-after', '30')
          .send(await loadRunView(db, (await getRun(db, run.id))!));
      }
      return reply.code(201).send(await loadRunView(db, (await getRun(db, run.id))!));
    },
  );

  app.get(
    '/v1/runs',
    {
      schema: {
        querystring: listQuery,
        response: {
          200: pageSchema(runSchema),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 20;
      const rows = await listRuns(db, {
        scope: scopeOf(req.principal),
        status: req.query.status,
        paperId: req.query.paperId,
        campaignId: req.query.campaignId,
        before: decodeCursor(req.query.cursor),
        limit,
      });
      return {
        items: await loadRunViews(db, rows),
        nextCursor: rows.length === limit ? encodeCursor(rows[rows.length - 1]!) : null,
      };
    },
  );

  app.get(
    '/v1/runs/:id',
    {
      schema: { params: uuidParam, response: { 200: runSchema, ...errorResponses } },
    },
    async (req) => loadRunView(db, await loadRunOr404(db, req.params.id, req.principal)),
  );

  app.post(
    '/v1/runs/:id/approval',
    {
      schema: {
        params: uuidParam,
        body: decisionBody,
        headers: idempotencyHeader,
        response: { 200: runSchema, ...errorResponses },
      },
    },
    async (req) => {
      const run = await loadRunOr404(db, req.params.id, req.principal);
      await applyDecision(gateway, db, run, req.body, req.headers['idempotency-key']);
      return loadRunView(db, await loadRunOr404(db, run.id, req.principal));
    },
  );

  app.post(
    '/v1/runs/:id/cancel',
    {
      schema: { params: uuidParam, response: { 202: runSchema, ...errorResponses } },
    },
    async (req, reply) => {
      const run = await loadRunOr404(db, req.params.id, req.principal);
      if (isFinished(run.status, run.until)) throw new HttpError(409, 'RunFinished', `run is already ${run.status}`);
      await gateway.cancel(run.workflow_id);
      return reply.code(202).send(await loadRunView(db, run));
    },
  );

  app.post(
    '/v1/runs/:id/budget',
    {
      schema: {
        summary: "Tops up the run's own budget; a run in awaiting_budget goes on once its next step fits",
        params: uuidParam,
        body: budgetSchema,
        response: { 200: runSchema, ...errorResponses },
      },
    },
    async (req) => {
      const run = await loadRunOr404(db, req.params.id, req.principal);
      if (isFinished(run.status, run.until)) throw new HttpError(409, 'RunFinished', `run is already ${run.status}`);
      await topUpRunBudget(db, run.id, defaultRunBudget(config), req.body);
      await gateway.signal(run.workflow_id, 'budget');
      return loadRunView(db, (await getRun(db, run.id))!);
    },
  );
};

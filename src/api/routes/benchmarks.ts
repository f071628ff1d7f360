import path from 'node:path';
// Benchmarks: a campaign over library tasks instead of papers. Each run starts from the task's research
// problem with no paper and no idea; the result table scores the runs as MLAgentBench scores agents (success
// rate under its rule, with a Wilson interval), with mean improvement, validated verdicts, cost and time.
// Pausing, resuming, cancelling, topping up and the event stream are the campaign routes' (same id).
import { benchmarkRunRows, getCampaign, listCampaigns, runCountsByStatus, type CampaignRow } from '../../db/campaigns';
import { campaignSpend, settledSpendByRun } from '../../db/ledger';
import type { Queryable } from '../../db/types';
import { benchmarkResults, type LeakFlag } from '../../domain/benchmark';
import { knownLeaks } from '../../tasks/leaks';
import { MIN_SEEDS } from '../../validation/verdict';
import { scopeOf, type Principal } from '../../domain/user';
import { HttpError } from '../../errors';
import { benchmarkSvg, renderBenchmarkMarkdown, type BenchmarkSummary } from '../../validation/benchmark-report';
import { subjectCount, type RunTemplate } from '../../domain/campaign-input';
import type { RouteDeps } from '../types';
import { launchCampaign } from '../campaign-launch';
import { reportSchema, sendReport } from '../report-formats';
import { checkRunOptions, requireModel, requireTasks, runTemplate } from '../run-options';
import {
  budgetSchema,
  errorResponses,
  freeObject,
  idempotencyHeader,
  pageSchema,
  spendSchema,
  uuidParam,
} from '../schemas';
import type { RoutePlugin } from '../types';
import { decodeCursor, encodeCursor } from '../views';

/** Upstream's protocol unless asked otherwise: its action set, and 8 runs per task (MLAgentBench ran 8). */
const DEFAULT_PROFILE = 'mlab';
const DEFAULT_RUNS_PER_TASK = 8;

const createBody = {
  type: 'object',
  required: ['tasks', 'budget'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    tasks: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
    },
    profile: {
      type: 'string',
      enum: ['copilot', 'mlab'],
      description: "The agent profile (default mlab: upstream MLAgentBench's action set, comparable with its numbers)",
    },
    runsPerTask: { type: 'integer', minimum: 1, maximum: 100, description: 'Runs per task (default 8, as upstream)' },
    validationSeeds: {
      type: 'integer',
      minimum: MIN_SEEDS,
      maximum: 50,
      description: `Seeds per arm (at least ${MIN_SEEDS}: with fewer the exact test could never reach p < 0.05)`,
    },
    agentTimeLimitSeconds: {
      type: 'integer',
      minimum: 1,
      maximum: 7 * 24 * 3600,
      description:
        "The agent's working time per run (model calls and actions; not pauses, budget waits or queues). " +
        'Default: 5 hours with mlab (upstream --max-time), none with copilot',
    },
    maxConcurrentRuns: { type: 'integer', minimum: 1, maximum: 1000 },
    executor: { type: 'string', enum: ['local', 'kubernetes'] },
    budget: budgetSchema,
    runBudget: budgetSchema,
  },
} as const;

const taskResultSchema = {
  type: 'object',
  properties: {
    task: { type: 'string' },
    runs: { type: 'integer' },
    successes: { type: 'integer' },
    successRate: { type: ['number', 'null'] },
    successInterval: { type: ['array', 'null'], items: { type: 'number' } },
    allRuns: freeObject,
    ends: freeObject,
    meanImprovement: { type: ['number', 'null'] },
    medianImprovement: { type: ['number', 'null'] },
    nearZeroBaselines: { type: 'integer' },
    leaks: { type: 'array', items: freeObject },
    verdicts: freeObject,
    costUsd: { type: 'number' },
    meanWallSeconds: { type: ['number', 'null'] },
  },
} as const;

const benchmarkSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    owner: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string' },
    profile: { type: 'string' },
    tasks: { type: 'array', items: { type: 'string' } },
    runsPerTask: { type: 'integer' },
    runs: {
      type: 'object',
      properties: { total: { type: 'integer' }, created: { type: 'integer' }, byStatus: freeObject },
    },
    spend: spendSchema,
    budget: freeObject,
    results: {
      type: 'object',
      properties: {
        tasks: { type: 'array', items: taskResultSchema },
        overall: {
          ...taskResultSchema,
          properties: { ...taskResultSchema.properties, meanTaskSuccessRate: {}, intervalMethod: { type: 'string' } },
        },
      },
    },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

/** The template with the agent's working-time limit, when the request sets one. */
function withAgentTime(template: RunTemplate, seconds: number | undefined): RunTemplate {
  return seconds ? { ...template, experiment: { ...template.experiment, agentSeconds: seconds } } : template;
}

/** Known label leaks of the named tasks (a task's id is its folder's name), read from their starter code. */
function leaksOf(tasksDir: string, ids: string[]): Map<string, LeakFlag[]> {
  return new Map([...new Set(ids)].map((id) => [id, knownLeaks(path.join(tasksDir, id))]));
}

async function benchmarkView(db: Queryable, c: CampaignRow, leaks: Map<string, LeakFlag[]>) {
  const taskIds = c.spec.taskIds ?? [];
  const [byStatus, spend, rows] = await Promise.all([
    runCountsByStatus(db, c.id),
    campaignSpend(db, c.id),
    benchmarkRunRows(db, c.id),
  ]);
  const costs = await settledSpendByRun(
    db,
    rows.map((r) => r.id),
  );
  const results = benchmarkResults(
    taskIds,
    rows.map((r) => ({
      runId: r.id,
      taskId: r.task_id,
      status: r.status,
      // The direction the run was measured with. A run that measured nothing is neither a success nor in the
      // mean improvement, whatever its direction.
      direction: r.result?.direction ?? 'max',
      baseline: r.result?.baseline ?? null,
      value: r.result?.value ?? null,
      verdict: r.verdict,
      errorType: r.error_type,
      costUsd: costs.get(r.id)?.usd ?? 0,
      wallSeconds: r.wall_seconds,
    })),
    leaks,
  );
  return {
    id: c.id,
    owner: c.owner,
    name: c.name,
    status: c.status,
    profile: c.spec.profile ?? 'copilot',
    tasks: taskIds,
    runsPerTask: c.spec.runsPerPaper,
    runs: {
      total: subjectCount(c.spec) * c.spec.runsPerPaper,
      created: Object.values(byStatus).reduce((n, k) => n + (k ?? 0), 0),
      byStatus,
    },
    spend,
    budget: c.budget,
    results,
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  };
}

export const benchmarkRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  const { db, config, gateway } = deps;

  async function loadOr404(id: string, principal: Principal): Promise<CampaignRow> {
    const c = await getCampaign(db, id, scopeOf(principal));
    if (!c || c.kind !== 'benchmark') throw new HttpError(404, 'NotFound', `benchmark ${id} not found`);
    return c;
  }

  app.post(
    '/v1/benchmarks',
    {
      schema: {
        summary: 'Run library tasks as a benchmark: each run starts from the research problem, no paper, no idea',
        body: createBody,
        headers: idempotencyHeader,
        response: { 200: benchmarkSchema, 201: benchmarkSchema, 202: benchmarkSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      requireModel(config);
      const body = req.body;
      const profile = body.profile ?? DEFAULT_PROFILE;
      requireTasks(config, body.tasks);
      checkRunOptions(config, body);
      const runsPerTask = body.runsPerTask ?? DEFAULT_RUNS_PER_TASK;
      const name = body.name ?? `${body.tasks.join(', ').slice(0, 150)} × ${runsPerTask}`;
      const { campaign, created, started } = await launchCampaign(
        { db, config, gateway, log: req.log },
        {
          owner: req.principal.name,
          name,
          body,
          idempotencyKey: req.headers['idempotency-key'],
          input: (id) => ({
            campaignId: id,
            paperIds: [],
            taskIds: body.tasks,
            profile,
            runsPerPaper: runsPerTask,
            // No person in the loop and nothing to approve: every run goes from the task to its report.
            template: withAgentTime(
              runTemplate(config, deps.runTimeouts, {
                mode: 'autonomous',
                ideaCount: 1,
                until: 'succeeded',
                validationSeeds: body.validationSeeds,
                executor: body.executor,
              }),
              body.agentTimeLimitSeconds,
            ),
            maxConcurrentRuns: body.maxConcurrentRuns ?? 10,
            historyLimit: config.MLR_CAMPAIGN_HISTORY_EVENTS,
          }),
          extras: body.runBudget ? { runBudget: body.runBudget } : {},
          budget: body.budget,
        },
      );
      if (!created) reply.header('idempotent-replayed', 'true');
      const view = await benchmarkView(db, campaign, leaksOf(config.MLR_TASKS_DIR, body.tasks));
      if (!started) return reply.code(202).header('retry-after', '30').send(view);
      return reply.code(created ? 201 : 200).send(view);
    },
  );

  app.get(
    '/v1/benchmarks',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cursor: { type: 'string', maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
        },
        response: { 200: pageSchema(benchmarkSchema), ...errorResponses },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 20;
      const rows = await listCampaigns(db, {
        scope: scopeOf(req.principal),
        kind: 'benchmark',
        before: decodeCursor(req.query.cursor),
        limit,
      });
      return {
        items: await (async () => {
          const leaks = leaksOf(
            config.MLR_TASKS_DIR,
            rows.flatMap((c) => c.spec.taskIds ?? []),
          );
          return Promise.all(rows.map((c) => benchmarkView(db, c, leaks)));
        })(),
        nextCursor: rows.length === limit ? encodeCursor(rows[rows.length - 1]!) : null,
      };
    },
  );

  app.get(
    '/v1/benchmarks/:id',
    { schema: { params: uuidParam, response: { 200: benchmarkSchema, ...errorResponses } } },
    async (req) => {
      const c = await loadOr404(req.params.id, req.principal);
      return benchmarkView(db, c, leaksOf(config.MLR_TASKS_DIR, c.spec.taskIds ?? []));
    },
  );

  app.get(
    '/v1/benchmarks/:id/report',
    { schema: reportSchema('The result table: Markdown (default), JSON, HTML, or the success-rate chart as SVG') },
    async (req, reply) => {
      const c = await loadOr404(req.params.id, req.principal);
      const view = await benchmarkView(db, c, leaksOf(config.MLR_TASKS_DIR, c.spec.taskIds ?? []));
      const summary: BenchmarkSummary = view;
      return sendReport({ format: req.query.format, accept: req.headers.accept }, reply, {
        title: `Benchmark: ${view.name}`,
        json: () => view,
        markdown: () => renderBenchmarkMarkdown(summary),
        svg: () => benchmarkSvg(view.results.tasks),
      });
    },
  );
};

import { randomUUID } from 'node:crypto';
import { campaignRunRows, getCampaign, listCampaigns, runCountsByStatus, type CampaignRow } from '../../db/campaigns';
import { campaignSpend, settledSpendByRun, spendBy, SPEND_GROUPS } from '../../db/ledger';
import { visiblePaperIds } from '../../db/papers';
import type { Queryable } from '../../db/types';
import { ZERO_SPEND } from '../../domain/budget';
import { scopeOf, type Principal } from '../../domain/user';
import { HttpError } from '../../errors';
import { forestSvg, leaderboard, renderCampaignMarkdown } from '../../validation/campaign-report';
import { CAMPAIGN_FINAL, CAMPAIGN_STATUSES, subjectCount } from '../../domain/campaign-input';
import type { RouteDeps } from '../types';
import { launchCampaign } from '../campaign-launch';
import { reportSchema, sendReport } from '../report-formats';
import { checkRunOptions, requireModel, runOptionProperties, runTemplate } from '../run-options';
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

const createCampaignBody = {
  type: 'object',
  required: ['name', 'paperIds', 'budget'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    paperIds: {
      type: 'array',
      minItems: 1,
      maxItems: 5000,
      uniqueItems: true,
      items: { type: 'string', format: 'uuid' },
    },
    runsPerPaper: {
      type: 'integer',
      minimum: 1,
      maximum: 10,
      description: "Run i carries the paper's i-th ranked idea",
    },
    maxConcurrentRuns: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      description: 'Runs working at once; runs waiting on a person or a top-up do not count',
    },
    maxConcurrentJobs: { type: 'integer', minimum: 1, maximum: 1000, description: 'Executions at once' },
    deadline: { type: 'string', format: 'date-time', description: 'No run starts after it; runs still going stop' },
    budget: budgetSchema,
    runBudget: { ...budgetSchema, description: "Each run's own budget (default MLR_RUN_MAX_*)" },
    resources: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cpu: { type: 'number', exclusiveMinimum: 0, maximum: 256 },
        memoryMb: { type: 'integer', minimum: 64, maximum: 4_194_304 },
        gpus: { type: 'integer', minimum: 0, maximum: 64 },
        gpuType: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._-]+$' },
      },
    },
    ...runOptionProperties,
  },
} as const;

const campaignSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    owner: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string', enum: ['campaign', 'benchmark'] },
    status: { type: 'string', enum: CAMPAIGN_STATUSES },
    spec: freeObject,
    runs: {
      type: 'object',
      properties: {
        total: { type: 'integer' },
        created: { type: 'integer' },
        byStatus: { type: 'object', additionalProperties: { type: 'integer' } },
      },
    },
    spend: spendSchema,
    budget: freeObject,
    results: { type: 'array', items: freeObject },
    resultsTruncated: { type: 'boolean' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

const RESULTS_LIMIT = 1000;

async function campaignView(db: Queryable, c: CampaignRow, withResults = true) {
  const [byStatus, spend] = await Promise.all([runCountsByStatus(db, c.id), campaignSpend(db, c.id)]);
  const created = Object.values(byStatus).reduce((n, k) => n + (k ?? 0), 0);
  const results = withResults ? await results_(db, c) : undefined;
  return {
    id: c.id,
    owner: c.owner,
    name: c.name,
    kind: c.kind,
    status: c.status,
    spec: {
      paperIds: c.spec.paperIds,
      ...(c.spec.taskIds ? { taskIds: c.spec.taskIds, profile: c.spec.profile ?? 'copilot' } : {}),
      runsPerPaper: c.spec.runsPerPaper,
      maxConcurrentRuns: c.spec.maxConcurrentRuns,
      maxConcurrentJobs: c.spec.maxConcurrentJobs ?? null,
      deadline: c.spec.deadline ?? null,
      mode: c.spec.template.mode,
      until: c.spec.template.until,
      ideaCount: c.spec.template.ideaCount,
      executor: c.spec.template.executor ?? null,
      taskId: c.spec.taskId ?? null,
      runBudget: c.spec.runBudget ?? null,
    },
    runs: { total: subjectCount(c.spec) * c.spec.runsPerPaper, created, byStatus },
    spend,
    budget: c.budget,
    ...(results ? { results: results.rows, resultsTruncated: results.truncated } : {}),
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  };
}

async function results_(db: Queryable, c: CampaignRow) {
  const rows = await campaignRunRows(db, c.id, RESULTS_LIMIT + 1);
  const truncated = rows.length > RESULTS_LIMIT;
  const shown = rows.slice(0, RESULTS_LIMIT);
  const spend = await settledSpendByRun(
    db,
    shown.map((r) => r.id),
  );
  return {
    truncated,
    rows: leaderboard(
      shown.map((r) => ({
        runId: r.id,
        slot: r.slot,
        status: r.status,
        // A benchmark's runs read no paper: the leaderboard names their task where a paper would be.
        paper: r.paper_id ? { id: r.paper_id, title: r.paper_title ?? '' } : { id: '', title: `task ${r.task_id}` },
        idea: r.idea_id ? { id: r.idea_id, title: r.idea_title ?? '' } : null,
        taskId: r.task_id,
        validation: r.validation,
        spend: spend.get(r.id) ?? { ...ZERO_SPEND },
      })),
    ),
  };
}

export const campaignRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  const { db, config, gateway } = deps;

  async function loadOr404(id: string, principal: Principal): Promise<CampaignRow> {
    const c = await getCampaign(db, id, scopeOf(principal));
    if (!c) throw new HttpError(404, 'NotFound', `campaign ${id} not found`);
    return c;
  }
  const running = (c: CampaignRow) => {
    if (CAMPAIGN_FINAL.includes(c.status))
      throw new HttpError(409, 'CampaignFinished', `campaign is already ${c.status}`);
  };

  app.post(
    '/v1/campaigns',
    {
      schema: {
        summary: 'Starts a campaign: papers × runsPerPaper research runs under one budget',
        body: createCampaignBody,
        headers: idempotencyHeader,
        response: { 200: campaignSchema, 201: campaignSchema, 202: campaignSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      requireModel(config);
      const body = req.body;
      const owner = req.principal.name;
      checkRunOptions(config, body);
      const runsPerPaper = body.runsPerPaper ?? 1;
      if (body.paperIds.length > config.MLR_CAMPAIGN_MAX_PAPERS) {
        throw new HttpError(
          400,
          'InvalidRequest',
          `at most ${config.MLR_CAMPAIGN_MAX_PAPERS} papers (MLR_CAMPAIGN_MAX_PAPERS)`,
        );
      }
      const ideaCount = body.ideaCount ?? Math.max(runsPerPaper, config.MLR_DEFAULT_IDEA_COUNT);
      if (ideaCount < runsPerPaper) {
        throw new HttpError(422, 'TooFewIdeas', `runsPerPaper ${runsPerPaper} needs ideaCount >= ${runsPerPaper}`);
      }
      if (body.deadline !== undefined && Date.parse(body.deadline) <= Date.now()) {
        throw new HttpError(422, 'DeadlinePassed', 'the deadline is in the past');
      }
      const visible = await visiblePaperIds(db, body.paperIds, scopeOf(req.principal));
      const missing = body.paperIds.filter((id) => !visible.has(id));
      if (missing.length > 0) throw new HttpError(404, 'NotFound', `paper ${missing[0]} not found`);

      const { campaign, created, started } = await launchCampaign(
        { db, config, gateway, log: req.log },
        {
          owner,
          name: body.name,
          body,
          idempotencyKey: req.headers['idempotency-key'],
          input: (id) => ({
            campaignId: id,
            paperIds: body.paperIds,
            runsPerPaper,
            template: runTemplate(config, deps.runTimeouts, { ...body, ideaCount }),
            maxConcurrentRuns: body.maxConcurrentRuns ?? 10,
            ...(body.maxConcurrentJobs ? { maxConcurrentJobs: body.maxConcurrentJobs } : {}),
            ...(body.deadline ? { deadline: new Date(body.deadline).toISOString() } : {}),
            historyLimit: config.MLR_CAMPAIGN_HISTORY_EVENTS,
          }),
          extras: {
            ...(body.runBudget ? { runBudget: body.runBudget } : {}),
            ...(body.taskId ? { taskId: body.taskId } : {}),
          },
          budget: body.budget,
        },
      );
      if (!created) reply.header('idempotent-replayed', 'true');
      if (!started) {
        return reply
          .code(202)
          .header('retry-after', '30')
          .send(await campaignView(db, campaign, false));
      }
      return reply.code(created ? 201 : 200).send(await campaignView(db, campaign, false));
    },
  );

  app.get(
    '/v1/campaigns',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: CAMPAIGN_STATUSES },
            cursor: { type: 'string', maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
          },
        },
        response: {
          200: pageSchema(campaignSchema),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 20;
      const rows = await listCampaigns(db, {
        scope: scopeOf(req.principal),
        status: req.query.status,
        before: decodeCursor(req.query.cursor),
        limit,
      });
      return {
        items: await Promise.all(rows.map((c) => campaignView(db, c, false))),
        nextCursor: rows.length === limit ? encodeCursor(rows[rows.length - 1]!) : null,
      };
    },
  );

  app.get(
    '/v1/campaigns/:id',
    { schema: { params: uuidParam, response: { 200: campaignSchema, ...errorResponses } } },
    async (req) => campaignView(db, await loadOr404(req.params.id, req.principal)),
  );

  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/v1/campaigns/:id/${action}`,
      { schema: { params: uuidParam, response: { 202: campaignSchema, ...errorResponses } } },
      async (req, reply) => {
        const c = await loadOr404(req.params.id, req.principal);
        running(c);
        await gateway.signal(c.workflow_id, action);
        return reply.code(202).send(await campaignView(db, c, false));
      },
    );
  }

  app.post(
    '/v1/campaigns/:id/cancel',
    { schema: { params: uuidParam, response: { 202: campaignSchema, ...errorResponses } } },
    async (req, reply) => {
      const c = await loadOr404(req.params.id, req.principal);
      running(c);
      await gateway.cancel(c.workflow_id);
      return reply.code(202).send(await campaignView(db, c, false));
    },
  );

  app.post(
    '/v1/campaigns/:id/budget',
    {
      schema: {
        summary: "Tops up the campaign's budget (a Temporal update); runs parked on it go on",
        params: uuidParam,
        body: budgetSchema,
        headers: idempotencyHeader,
        response: { 200: campaignSchema, ...errorResponses },
      },
    },
    async (req) => {
      const c = await loadOr404(req.params.id, req.principal);
      running(c);
      await gateway.topUpCampaign(c.workflow_id, req.body, req.headers['idempotency-key'] ?? randomUUID());
      return campaignView(db, (await getCampaign(db, c.id))!);
    },
  );

  app.get(
    '/v1/campaigns/:id/report',
    { schema: reportSchema('The campaign report: Markdown (default), JSON, HTML, or the forest plot as SVG') },
    async (req, reply) => {
      const c = await loadOr404(req.params.id, req.principal);
      const view = await campaignView(db, c);
      const rows = view.results ?? [];
      const summary = {
        id: c.id,
        name: c.name,
        status: c.status,
        runs: { total: view.runs.total, byStatus: view.runs.byStatus as Record<string, number> },
        spend: view.spend,
        budget: c.budget,
      };
      return sendReport({ format: req.query.format, accept: req.headers.accept }, reply, {
        title: `Campaign: ${c.name}`,
        json: () => ({ ...summary, results: rows }),
        markdown: () => renderCampaignMarkdown(summary, rows),
        svg: () => forestSvg(rows),
      });
    },
  );

  app.get(
    '/v1/spend',
    {
      schema: {
        summary: 'Measured spend grouped by campaign, run, stage, model, user or kind (admins see every user)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['by'],
          properties: {
            by: { type: 'string', enum: SPEND_GROUPS },
            campaignId: { type: 'string', format: 'uuid' },
            runId: { type: 'string', format: 'uuid' },
            since: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              by: { type: 'string' },
              items: {
                type: 'array',
                items: { type: 'object', properties: { key: { type: ['string', 'null'] }, spend: spendSchema } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => ({
      by: req.query.by,
      items: await spendBy(
        db,
        req.query.by,
        {
          scope: scopeOf(req.principal),
          campaignId: req.query.campaignId,
          runId: req.query.runId,
          since: req.query.since,
        },
        req.query.limit ?? 100,
      ),
    }),
  );
};

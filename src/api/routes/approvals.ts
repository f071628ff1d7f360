// The approval inbox: every decision waiting on the caller's runs (all owners' for an admin), the
// longest-waiting first, with the ideas to choose from; and decisions on many runs in one request, each
// applied as the run's own approval route applies it, each with its own outcome.
import { getPaper } from '../../db/papers';
import { runsAwaitingApproval } from '../../db/runs';
import { scopeOf } from '../../domain/user';
import { HttpError } from '../../errors';
import { loadRunOr404 } from '../access';
import type { RouteDeps } from '../types';
import { applyDecision } from '../decisions';
import { errorResponses } from '../schemas';
import type { RoutePlugin } from '../types';
import { decisionBody, loadRunViews } from './runs';

const inboxQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 200 } },
} as const;

const bulkBody = {
  type: 'object',
  required: ['decisions'],
  additionalProperties: false,
  properties: {
    decisions: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        ...decisionBody,
        required: ['runId', 'decision'],
        properties: { ...decisionBody.properties, runId: { type: 'string', format: 'uuid' } },
      },
    },
  },
} as const;

const outcomeSchema = {
  type: 'object',
  properties: {
    runId: { type: 'string' },
    ok: { type: 'boolean' },
    status: { type: 'integer' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

export const approvalRoutes: RoutePlugin<RouteDeps> = async (app, { db, gateway }) => {
  app.get('/v1/approvals', { schema: { querystring: inboxQuery, response: errorResponses } }, async (req) => {
    const runs = await runsAwaitingApproval(db, scopeOf(req.principal), req.query.limit ?? 50);
    const now = Date.now();
    return {
      items: await Promise.all(
        (await loadRunViews(db, runs)).map(async (view, i) => {
          const run = runs[i]!;
          const paper = run.paper_id ? await getPaper(db, run.paper_id) : undefined;
          return {
            runId: run.id,
            owner: run.owner,
            paper: { id: run.paper_id, title: paper?.title ?? null },
            // A campaign's run, and which of its paper's ranked ideas it carries (approve without ideaId takes it).
            campaign: view.campaign,
            round: run.round,
            waitingSince: run.updated_at,
            waitingSeconds: Math.max(0, Math.round((now - new Date(run.updated_at).getTime()) / 1000)),
            taskDefinition: view.taskDefinition,
            ideas: view.ideas,
          };
        }),
      ),
    };
  });

  app.post(
    '/v1/approvals',
    {
      schema: {
        body: bulkBody,
        response: {
          200: { type: 'object', properties: { results: { type: 'array', items: outcomeSchema } } },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const results = [];
      for (const { runId, ...decision } of req.body.decisions) {
        try {
          const run = await loadRunOr404(db, runId, req.principal);
          await applyDecision(gateway, db, run, decision);
          results.push({ runId, ok: true, status: 200 });
        } catch (err) {
          if (!(err instanceof HttpError)) throw err;
          results.push({ runId, ok: false, status: err.statusCode, error: { code: err.code, message: err.message } });
        }
      }
      return { results };
    },
  );
};

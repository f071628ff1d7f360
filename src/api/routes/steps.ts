import { stepsPage } from '../../db/agent';
import { eventsPage } from '../../db/events';
import { loadRunOr404 } from '../access';
import type { RouteDeps } from '../types';
import { errorResponses, uuidParam } from '../schemas';
import type { RoutePlugin } from '../types';
import { stepView } from '../views';

/** Longest observation a step shows here; the full log of an execution is at its log route. */
const MAX_OBSERVATION = 4000;

const stepSchema = {
  type: 'object',
  properties: {
    step: { type: 'integer' },
    tool: { type: 'string' },
    args: { type: 'object', additionalProperties: true },
    observation: { type: ['string', 'null'] },
    observationTruncated: { type: 'boolean' },
    error: { type: ['string', 'null'] },
    experimentId: { type: ['string', 'null'] },
    experimentStatus: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
  },
} as const;

export const stepRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  app.get(
    '/v1/runs/:id/steps',
    {
      schema: {
        summary: "The ExperimentAgent's trajectory: each step's tool, arguments, observation and the execution it ran",
        params: uuidParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: -1, default: -1 },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: stepSchema }, nextAfter: { type: ['integer', 'null'] } },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const run = await loadRunOr404(deps.db, req.params.id, req.principal);
      const limit = req.query.limit ?? 50;
      const rows = await stepsPage(deps.db, run.id, req.query.after ?? -1, limit);
      return {
        items: rows.map((r) => stepView(r, MAX_OBSERVATION)),
        nextAfter: rows.length === limit ? rows[rows.length - 1]!.step : null,
      };
    },
  );

  app.get(
    '/v1/runs/:id/history',
    {
      schema: {
        summary: "The run's events in order (what its event stream sends), a page at a time",
        params: uuidParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, default: 0, description: 'an event id; the page starts after it' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 200 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'integer' },
                    type: { type: 'string' },
                    data: { type: 'object', additionalProperties: true },
                    at: { type: 'string' },
                  },
                },
              },
              nextAfter: { type: ['integer', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const run = await loadRunOr404(deps.db, req.params.id, req.principal);
      const limit = req.query.limit ?? 200;
      const rows = await eventsPage(deps.db, run.id, req.query.after ?? 0, limit);
      return {
        items: rows.map((e) => ({ id: Number(e.id), type: e.type, data: e.data, at: e.created_at.toISOString() })),
        nextAfter: rows.length === limit ? Number(rows[rows.length - 1]!.id) : null,
      };
    },
  );
};

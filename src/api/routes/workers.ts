// GET /v1/workers: every worker seen in the last week, live or not, for an admin token (workers carry every
// owner's runs): where they run, which store they share, which version, and when they last beat.
import { listWorkers } from '../../db/workers';
import { HttpError } from '../../errors';
import { WORKER_LIVE_SECONDS } from '../../domain/workers';
import type { RouteDeps } from '../types';
import { errorResponses } from '../schemas';
import type { RoutePlugin } from '../types';

export const workerRoutes: RoutePlugin<RouteDeps> = async (app, { db }) => {
  app.get(
    '/v1/workers',
    {
      schema: {
        summary: 'The workers that share this database, live or seen in the last 7 days (admin)',
        response: {
          200: {
            type: 'object',
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    host: { type: 'string' },
                    store: { type: 'string', description: 'MLR_ARTIFACTS: fs (one disk) or s3 (shared)' },
                    version: { type: 'string' },
                    taskQueue: { type: 'string' },
                    startedAt: { type: 'string', format: 'date-time' },
                    heartbeatAt: { type: 'string', format: 'date-time' },
                    stoppedAt: { type: ['string', 'null'], format: 'date-time' },
                    live: { type: 'boolean', description: `beat in the last ${WORKER_LIVE_SECONDS} s` },
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      if (!req.principal.admin) throw new HttpError(403, 'Forbidden', 'the worker list is for an admin token');
      const rows = await listWorkers(db, WORKER_LIVE_SECONDS);
      return {
        items: rows.map((w) => ({
          id: w.id,
          host: w.host,
          store: w.store,
          version: w.version,
          taskQueue: w.task_queue,
          startedAt: w.started_at.toISOString(),
          heartbeatAt: w.heartbeat_at.toISOString(),
          stoppedAt: w.stopped_at?.toISOString() ?? null,
          live: w.live,
        })),
      };
    },
  );
};

import type { FastifyInstance } from 'fastify';
import { eventsAfter } from '../../db/events';
import { getRun } from '../../db/runs';
import { HttpError } from '../../errors';
import { isFinished } from '../../workflows/definitions';
import type { AppDeps } from '../app';
import { errorResponses, uuidParam } from '../schemas';

const POLL_MS = 500;
const KEEPALIVE_MS = 15_000;

/**
 * Server-Sent Events from the append-only run_events table. Polling Postgres (rather than LISTEN) keeps
 * it working behind connection poolers; `Last-Event-ID` resumes a dropped stream without gaps.
 */
export async function eventRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get<{ Params: { id: string }; Headers: { 'last-event-id'?: string } }>('/v1/runs/:id/events', {
    schema: {
      params: uuidParam,
      response: { 200: { type: 'string', description: 'text/event-stream' }, ...errorResponses },
    },
  }, async (req, reply) => {
    const run = await getRun(deps.db, req.params.id);
    if (!run) throw new HttpError(404, 'NotFound', `run ${req.params.id} not found`);
    let lastId = Number(req.headers['last-event-id'] ?? 0) || 0;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let closed = false;
    req.raw.on('close', () => { closed = true; });
    let lastWrite = Date.now();
    while (!closed) {
      // Read the status before the events: a run seen finished has all its events written already.
      const current = await getRun(deps.db, run.id);
      const finished = current !== undefined && isFinished(current.status, current.until);
      const events = await eventsAfter(deps.db, run.id, lastId);
      for (const e of events) {
        res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, at: e.created_at.toISOString() })}\n\n`);
        lastId = Number(e.id);
        lastWrite = Date.now();
      }
      if (events.length === 0 && finished) break;
      if (Date.now() - lastWrite > KEEPALIVE_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      if (events.length === 0) await new Promise((r) => setTimeout(r, deps.ssePollMs ?? POLL_MS));
    }
    res.end();
  });
}

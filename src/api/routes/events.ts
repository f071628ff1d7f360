import type { ServerResponse } from 'node:http';
import { campaignEventPosition, getCampaign } from '../../db/campaigns';
import { runEventPosition, streamNow } from '../../db/events';
import { STREAM_START, type StreamPosition } from '../../domain/stream';
import { scopeOf } from '../../domain/user';
import { HttpError } from '../../errors';
import { loadRunOr404 } from '../access';
import type { EventHub, StreamEvent } from '../event-hub';
import type { RouteDeps } from '../types';
import { errorResponses, uuidParam } from '../schemas';
import type { RoutePlugin } from '../types';

const KEEPALIVE_MS = 15_000;
/** A client that has not drained its socket for this long is too slow to keep: it is closed. */
const STALLED_MS = 60_000;

const format = (e: StreamEvent) =>
  `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, at: e.created_at.toISOString() })}\n\n`;

/**
 * Server-Sent Events from the append-only run_events and campaign_events tables, through one shared poller
 * per kind (event-hub.ts); `Last-Event-ID` resumes a dropped stream without gaps. Streams of both kinds are
 * capped per user and in all.
 */
export const eventRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  const perUser = new Map<string, number>();
  let total = 0;

  const stream = (
    url: string,
    hub: EventHub,
    load: (id: string, principal: Parameters<typeof loadRunOr404>[2]) => Promise<string>,
    /** Where a client that last saw this event id resumes (Last-Event-ID). */
    resume: (eventId: number) => Promise<StreamPosition>,
    /** Where a stream opened without Last-Event-ID starts (default: its first event). */
    start: () => Promise<StreamPosition> = async () => STREAM_START,
  ) =>
    app.get(
      url,
      {
        schema: {
          params: url.includes(':id') ? uuidParam : { type: 'object', properties: {} },
          headers: { type: 'object', properties: { 'last-event-id': { type: 'string', maxLength: 20 } } },
          response: { 200: { type: 'string', description: 'text/event-stream' }, ...errorResponses },
        },
      },
      async (req, reply) => {
        // Attached before any await: a client gone during the checks below is noticed, not leaked.
        // The response's close (not the request's, which may fire once its empty body is read) means the client left.
        let gone = false;
        reply.raw.once('close', () => {
          gone = true;
        });
        const user = req.principal.name;
        if (total >= deps.config.MLR_SSE_MAX_TOTAL) {
          throw new HttpError(
            429,
            'TooManyStreams',
            'the server has as many event streams open as it allows; retry shortly',
            { 'retry-after': '10' },
          );
        }
        if ((perUser.get(user) ?? 0) >= deps.config.MLR_SSE_MAX_PER_USER) {
          throw new HttpError(
            429,
            'TooManyStreams',
            `you have ${deps.config.MLR_SSE_MAX_PER_USER} event streams open (MLR_SSE_MAX_PER_USER)`,
            { 'retry-after': '10' },
          );
        }
        const id = await load((req.params as { id?: string }).id ?? '', req.principal);
        const resumeFrom = req.headers['last-event-id'];
        const after = resumeFrom === undefined ? await start() : await resume(Number(resumeFrom) || 0);
        if (gone) return reply.hijack();
        total++;
        perUser.set(user, (perUser.get(user) ?? 0) + 1);

        reply.hijack();
        const res: ServerResponse = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        // Sent now, not with the first event: a client knows at once that it is connected.
        res.flushHeaders();
        let blockedSince: number | undefined;
        let lastWrite = Date.now();
        const write = (chunk: string) => {
          lastWrite = Date.now();
          if (!res.write(chunk)) blockedSince ??= Date.now();
        };
        res.on('drain', () => {
          blockedSince = undefined;
        });

        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          unsubscribe();
          clearInterval(keepalive);
          total--;
          const n = (perUser.get(user) ?? 1) - 1;
          if (n > 0) perUser.set(user, n);
          else perUser.delete(user);
          res.end();
        };
        const unsubscribe = hub.subscribe(id, {
          after,
          ready: () => blockedSince === undefined,
          send: (events) => write(events.map(format).join('')),
          finished: end,
        });
        const keepalive = setInterval(
          () => {
            if (blockedSince !== undefined && Date.now() - blockedSince > STALLED_MS) end();
            else if (Date.now() - lastWrite >= KEEPALIVE_MS) write(': keep-alive\n\n');
          },
          Math.min(KEEPALIVE_MS, 5000),
        );
        keepalive.unref();
        res.once('close', end);
        if (gone) end();
      },
    );

  const runPosition = (eventId: number) => runEventPosition(deps.db, eventId);
  stream(
    '/v1/runs/:id/events',
    deps.hub,
    async (id, principal) => (await loadRunOr404(deps.db, id, principal)).id,
    runPosition,
  );
  stream(
    '/v1/campaigns/:id/events',
    deps.campaignHub,
    async (id, principal) => {
      const campaign = await getCampaign(deps.db, id, scopeOf(principal));
      if (!campaign) throw new HttpError(404, 'NotFound', `campaign ${id} not found`);
      return campaign.id;
    },
    (eventId) => campaignEventPosition(deps.db, eventId),
  );
  // Every status change of the caller's runs (an admin's: everyone's), from now on unless Last-Event-ID says
  // otherwise: what the console's runs list and approval badge follow, over one connection.
  stream(
    '/v1/events',
    deps.ownerHub,
    async (_id, principal) => scopeOf(principal) ?? '*',
    runPosition,
    () => streamNow(deps.db),
  );
};

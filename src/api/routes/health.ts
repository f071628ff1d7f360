import { ping } from '../../db/admin';
import type { RouteDeps } from '../types';
import type { RoutePlugin } from '../types';

const checkSchema = { type: 'object', properties: { ok: { type: 'boolean' } } } as const;
const readySchema = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    checks: { type: 'object', properties: { postgres: checkSchema, temporal: checkSchema, worker: checkSchema } },
  },
} as const;

async function check(fn: () => Promise<boolean>): Promise<{ ok: boolean; error?: string }> {
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error('timed out after 3s')), 3000);
    });
    const ok = await Promise.race([fn(), timeout]).finally(() => clearTimeout(timer));
    return ok ? { ok } : { ok, error: 'not ready' };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * Public probes. Their bodies say only what is up: the reasons (addresses, driver messages) go to the
 * log, not to whoever can reach the port.
 */
export const healthRoutes: RoutePlugin<RouteDeps> = async (app, deps) => {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } },
    },
    async () => ({ ok: true }),
  );

  app.get(
    '/readyz',
    { config: { public: true }, schema: { response: { 200: readySchema, 503: readySchema } } },
    async (req, reply) => {
      const postgres = await check(async () => {
        await ping(deps.db);
        return true;
      });
      let polling = false;
      const temporal = await check(async () => {
        polling = (await deps.gateway.ping()).workerPolling;
        return true;
      });
      const worker =
        temporal.ok && polling
          ? { ok: true }
          : { ok: false, error: temporal.ok ? 'no worker polled the task queue in 2 minutes' : 'Temporal unreachable' };
      // Ready means this API can serve: its Postgres and Temporal answer. A worker outage is reported, never a reason
      // to take every API pod out of the Service (runs queue in Temporal meanwhile, and a drain would stall).
      const ready = postgres.ok && temporal.ok;
      if (!ready || !worker.ok) req.log.warn({ postgres, temporal, worker }, ready ? 'no worker polling' : 'not ready');
      const body = {
        ready,
        checks: { postgres: { ok: postgres.ok }, temporal: { ok: temporal.ok }, worker: { ok: worker.ok } },
      };
      return reply.code(ready ? 200 : 503).send(body);
    },
  );
};

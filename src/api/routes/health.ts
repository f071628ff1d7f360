import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app';

const checkSchema = { type: 'object', properties: { ok: { type: 'boolean' }, error: { type: 'string' } } } as const;
const readySchema = {
  type: 'object',
  properties: { ready: { type: 'boolean' }, checks: { type: 'object', properties: { postgres: checkSchema, temporal: checkSchema, worker: checkSchema } } },
} as const;

async function check(fn: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await Promise.race([fn(), new Promise((_, rej) => setTimeout(() => rej(new Error('timed out after 3s')), 3000).unref())]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export async function healthRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get('/healthz', { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));

  app.get('/readyz', { schema: { response: { 200: readySchema, 503: readySchema } } }, async (_req, reply) => {
    const postgres = await check(() => deps.db.query('SELECT 1'));
    let worker: { ok: boolean; error?: string } = { ok: false, error: 'Temporal unreachable' };
    let polling = false;
    const temporal = await check(async () => { polling = (await deps.gateway.ping()).workerPolling; });
    if (temporal.ok) worker = polling ? { ok: true } : { ok: false, error: 'no worker has polled the task queue in the last 2 minutes' };
    const ready = postgres.ok && temporal.ok && worker.ok;
    return reply.code(ready ? 200 : 503).send({ ready, checks: { postgres, temporal, worker } });
  });
}

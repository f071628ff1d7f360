import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AppDeps, RouteDeps } from './types';
import type { Config } from '../config';
import { HttpError } from '../errors';
import { defaultPdfLimits } from '../papers/ingest';
import { createPaperIngestor } from '../papers/ingestor';
import type { RunTimeouts } from '../domain/run-input';
import { createAuthenticator } from './auth/authenticator';
import { campaignStreamSource, createEventHub, ownerStreamSource, runStreamSource } from './event-hub';
import authPlugin from './plugins/auth';
import headersPlugin from './plugins/headers';
import errorsPlugin from './plugins/errors';
import { eventRoutes } from './routes/events';
import { experimentRoutes } from './routes/experiments';
import { healthRoutes } from './routes/health';
import { metricsRoutes } from './routes/metrics';
import { approvalRoutes } from './routes/approvals';
import { benchmarkRoutes } from './routes/benchmarks';
import { campaignRoutes } from './routes/campaigns';
import { consoleRoutes } from './routes/console';
import { paperRoutes } from './routes/papers';
import { reportRoutes } from './routes/report';
import { runRoutes } from './routes/runs';
import { stepRoutes } from './routes/steps';
import { taskRoutes } from './routes/tasks';
import { workerRoutes } from './routes/workers';

export type { AppDeps, RouteDeps } from './types';

export function defaultRunTimeouts(config: Config): RunTimeouts {
  return {
    llmStartToCloseSeconds: Math.ceil(config.MLR_LLM_TIMEOUT_MS / 1000) * 3 + 60,
    llmHeartbeatSeconds: 30,
    llmMaxAttempts: config.MLR_LLM_MAX_ATTEMPTS,
  };
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const maxBytes = Math.floor(config.MLR_MAX_UPLOAD_MB * 1024 * 1024);
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger | undefined,
    bodyLimit: maxBytes,
    requestTimeout: 120_000,
    ajv: { customOptions: { allErrors: false, removeAdditional: false, coerceTypes: 'array' } },
  });
  await app.register(headersPlugin);
  await app.register(errorsPlugin, { maxUploadMb: config.MLR_MAX_UPLOAD_MB });
  await app.register(authPlugin, {
    authenticator: deps.authenticator ?? createAuthenticator(config),
    publicDocs: config.MLR_PUBLIC_DOCS,
  });
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler', // after authentication: the limit is per user, not per address
    max: config.MLR_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.principal ? `user:${req.principal.name}` : `ip:${req.ip}`),
    allowList: (req) => req.routeOptions.config?.public === true,
    errorResponseBuilder: (_req, ctx) =>
      new HttpError(
        429,
        'RateLimited',
        `more than ${ctx.max} requests in a minute; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        { 'retry-after': String(Math.ceil(ctx.ttl / 1000)) },
      ),
  });
  await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 5 }, throwFileSizeLimit: true });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'mlr-copilot',
        version: '0.1.0',
        description: 'Durable ML research runs: paper → ideas → approval.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const ingestor = createPaperIngestor({
    concurrency: config.MLR_INGEST_CONCURRENCY,
    timeoutMs: config.MLR_INGEST_TIMEOUT_MS,
    pdfConcurrency: config.MLR_INGEST_CONCURRENCY,
    pdf: {
      ...defaultPdfLimits,
      maxPages: config.MLR_PDF_MAX_PAGES,
      memoryMb: config.MLR_PDF_MEMORY_MB,
      cpuSeconds: config.MLR_PDF_CPU_SECONDS,
    },
  });
  const hubOptions = { pollMs: deps.ssePollMs ?? 500, logger: deps.logger };
  const hub = createEventHub(runStreamSource(deps.db), hubOptions);
  const campaignHub = createEventHub(campaignStreamSource(deps.db), hubOptions);
  const ownerHub = createEventHub(ownerStreamSource(deps.db), hubOptions);
  app.addHook('onClose', async () => {
    hub.close();
    campaignHub.close();
    ownerHub.close();
    await ingestor.close();
  });
  const routeDeps: RouteDeps = { ...deps, ingestor, hub, campaignHub, ownerHub };
  await app.register(healthRoutes, routeDeps);
  await app.register(metricsRoutes, routeDeps);
  await app.register(workerRoutes, routeDeps);
  await app.register(approvalRoutes, routeDeps);
  await app.register(campaignRoutes, routeDeps);
  await app.register(benchmarkRoutes, routeDeps);
  await app.register(paperRoutes, routeDeps);
  await app.register(runRoutes, routeDeps);
  await app.register(eventRoutes, routeDeps);
  await app.register(experimentRoutes, routeDeps);
  await app.register(stepRoutes, routeDeps);
  await app.register(taskRoutes, routeDeps);
  await app.register(reportRoutes, routeDeps);
  await app.register(consoleRoutes, routeDeps);
  return app;
}

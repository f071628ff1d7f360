import { timingSafeEqual } from 'node:crypto';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { RunGateway } from '../clients/temporal';
import type { Config } from '../config';
import type { Queryable } from '../db/types';
import type { ArtifactStore } from '../experiments/artifacts';
import { HttpError } from '../errors';
import type { Logger } from '../logger';
import { PaperInputError } from '../papers/ingest';
import type { RunTimeouts } from '../workflows/definitions';
import { eventRoutes } from './routes/events';
import { experimentRoutes } from './routes/experiments';
import { reportRoutes } from './routes/report';
import { healthRoutes } from './routes/health';
import { paperRoutes } from './routes/papers';
import { runRoutes } from './routes/runs';

export interface AppDeps {
  config: Config;
  db: Queryable;
  gateway: RunGateway;
  /** Activity timeouts handed to every new run. */
  runTimeouts: RunTimeouts;
  /** Where execution logs and file blobs are kept. */
  store: ArtifactStore;
  logger?: Logger;
  ssePollMs?: number;
}

export function defaultRunTimeouts(config: Config): RunTimeouts {
  return { llmStartToCloseSeconds: Math.ceil(config.MLR_LLM_TIMEOUT_MS / 1000) * 3 + 60, llmHeartbeatSeconds: 30, llmMaxAttempts: config.MLR_LLM_MAX_ATTEMPTS };
}

function tokenMatches(given: string, tokens: Buffer[]): boolean {
  const g = Buffer.from(given);
  return tokens.some((t) => t.length === g.length && timingSafeEqual(t, g));
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const maxBytes = Math.floor(deps.config.MLR_MAX_UPLOAD_MB * 1024 * 1024);
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger | undefined,
    bodyLimit: maxBytes,
    requestTimeout: 120_000,
    ajv: { customOptions: { allErrors: false, removeAdditional: false, coerceTypes: 'array' } },
  });
  await app.register(multipart, { limits: { fileSize: maxBytes, files: 1, fields: 5 }, throwFileSizeLimit: true });
  await app.register(swagger, {
    openapi: {
      info: { title: 'mlr-copilot', version: '0.1.0', description: 'Durable ML research runs: paper → ideas → approval.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const tokens = deps.config.apiTokens.map((t) => Buffer.from(t));
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/v1')) return;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !tokenMatches(match[1]!.trim(), tokens)) {
      throw new HttpError(401, 'Unauthorized', 'send Authorization: Bearer <token> with a token from MLR_API_TOKENS');
    }
  });

  app.setErrorHandler((err: FastifyError | HttpError | PaperInputError, req, reply) => {
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).headers(err.headers).send({ error: { code: err.code, message: err.message } });
    }
    if (err instanceof PaperInputError) return reply.code(400).send({ error: { code: err.code, message: err.message } });
    const fe = err as FastifyError;
    if (fe.validation || fe.code === 'FST_ERR_VALIDATION') {
      return reply.code(400).send({ error: { code: 'InvalidRequest', message: fe.message } });
    }
    const status = fe.statusCode ?? 500;
    if (status === 413 || fe.code === 'FST_REQ_FILE_TOO_LARGE') {
      return reply.code(413).send({ error: { code: 'PayloadTooLarge', message: `the upload exceeds MLR_MAX_UPLOAD_MB (${deps.config.MLR_MAX_UPLOAD_MB} MB)` } });
    }
    if (status >= 400 && status < 500) return reply.code(status).send({ error: { code: fe.code ?? 'BadRequest', message: fe.message } });
    req.log.error({ err, method: req.method, url: req.url, params: req.params }, 'request failed');
    return reply.code(500).send({ error: { code: 'Internal', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'NotFound', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  await app.register(async (scope) => {
    await healthRoutes(scope, deps);
    await paperRoutes(scope, deps);
    await runRoutes(scope, deps);
    await eventRoutes(scope, deps);
    await experimentRoutes(scope, deps);
    await reportRoutes(scope, deps);
  });
  return app;
}

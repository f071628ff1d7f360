// The one error handler: every failure leaves as {error: {code, message}} with its status.
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../../errors';
import { PaperInputError } from '../../papers/ingest';

const errorsPlugin: FastifyPluginAsync<{ maxUploadMb: number }> = async (app, { maxUploadMb }) => {
  app.setErrorHandler((err: FastifyError | HttpError | PaperInputError, req, reply) => {
    if (err instanceof HttpError) {
      return reply
        .code(err.statusCode)
        .headers(err.headers)
        .send({ error: { code: err.code, message: err.message } });
    }
    if (err instanceof PaperInputError) {
      return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
    }
    const fe = err as FastifyError;
    if (fe.validation || fe.code === 'FST_ERR_VALIDATION') {
      return reply.code(400).send({ error: { code: 'InvalidRequest', message: fe.message } });
    }
    const status = fe.statusCode ?? 500;
    if (status === 413 || fe.code === 'FST_REQ_FILE_TOO_LARGE') {
      return reply.code(413).send({
        error: { code: 'PayloadTooLarge', message: `the upload exceeds MLR_MAX_UPLOAD_MB (${maxUploadMb} MB)` },
      });
    }
    if (status >= 400 && status < 500)
      return reply.code(status).send({ error: { code: fe.code ?? 'BadRequest', message: fe.message } });
    req.log.error({ err, method: req.method, url: req.url, params: req.params }, 'request failed');
    return reply.code(500).send({ error: { code: 'Internal', message: 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: { code: 'NotFound', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` },
    }),
  );
};

export default fp(errorsPlugin, { name: 'mlr-errors' });

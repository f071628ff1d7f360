// Headers every response carries. nosniff: no browser reads a log or a Markdown report as HTML. A response
// that is not JSON and sets no policy of its own (reports, logs, charts) gets one that loads nothing and runs
// nothing, so text from papers, models or experiment code can neither fetch a URL nor run a script. The
// console sets its own policy; the API docs' page (served only where the operator allows) needs its scripts.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { REPORT_CSP } from '../../validation/report';

export const DEFAULT_CSP = `${REPORT_CSP}; sandbox`;

const headersPlugin: FastifyPluginAsync = async (app) => {
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    const type = String(reply.getHeader('content-type') ?? '');
    const docs = typeof req.routeOptions.url === 'string' && req.routeOptions.url.startsWith('/docs');
    if (!type.startsWith('application/json') && !reply.hasHeader('content-security-policy') && !docs)
      reply.header('content-security-policy', DEFAULT_CSP);
    return payload;
  });
};

export default fp(headersPlugin, { name: 'mlr-headers' });

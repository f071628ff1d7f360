// The web console: one page and its bundle, served without a token (the page holds no data; everything it
// shows comes from the token-checked API, called with the token the person signs in with). The page's
// Content-Security-Policy allows scripts from this origin only, so text from a paper or a model that reaches
// the page can never run as code.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../../errors';
import type { RouteDeps } from '../types';
import { consoleAssets, type ConsoleAssets } from '../console-assets';
import type { RoutePlugin } from '../types';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // The report is shown in a sandboxed frame (no scripts) and styles itself inline.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const page = (a: ConsoleAssets) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mlr-copilot</title>
<link rel="stylesheet" href="/console/app.css?v=${a.version}">
<script defer src="/console/app.js?v=${a.version}"></script>
</head>
<body><div id="app"><noscript>The mlr-copilot console needs JavaScript; the API is at /v1 and documented at /docs.</noscript></div></body>
</html>
`;

async function load(): Promise<ConsoleAssets> {
  try {
    return await consoleAssets();
  } catch (err) {
    throw new HttpError(503, 'ConsoleUnavailable', `the console could not be built: ${(err as Error).message}`);
  }
}

function send(req: FastifyRequest, reply: FastifyReply, assets: ConsoleAssets, type: string, body: string) {
  const etag = `"${assets.version}"`;
  reply
    .header('etag', etag)
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', CSP)
    .header('referrer-policy', 'no-referrer');
  if (req.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type(type).send(body);
}

export const consoleRoutes: RoutePlugin<RouteDeps> = async (app) => {
  const opts = { schema: { hide: true }, config: { public: true } };
  app.get('/', opts, async (req, reply) => {
    const assets = await load();
    return send(req, reply, assets, 'text/html; charset=utf-8', page(assets));
  });
  app.get('/console/app.js', opts, async (req, reply) => {
    const assets = await load();
    return send(req, reply, assets, 'text/javascript; charset=utf-8', assets.js);
  });
  app.get('/console/app.css', opts, async (req, reply) => {
    const assets = await load();
    return send(req, reply, assets, 'text/css; charset=utf-8', assets.css);
  });
};

// Deny by default: every route needs a user unless the route itself says `config: { public: true }`
// (or belongs to the API docs and the operator made them public). The decision is made on the route the router matched, never on the URL
// text, so encoded paths, absolute-form request lines and case variants cannot slip past it; a path that
// matches no route needs a token too, and then answers 404.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal } from '../../domain/user';
import { HttpError } from '../../errors';
import type { Authenticator } from '../auth/authenticator';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; set on every non-public route before its handler runs. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** The route answers without a token. */
    public?: boolean;
  }
}

const BEARER = /^Bearer +(\S{1,16384})$/i;

function isPublic(req: FastifyRequest, publicDocs: boolean): boolean {
  const route = req.routeOptions;
  if (route.config?.public === true) return true;
  // The docs routes are registered by @fastify/swagger-ui under this prefix; matched, not typed.
  const docs = typeof route.url === 'string' && (route.url === '/docs' || route.url.startsWith('/docs/'));
  return publicDocs && docs && !req.is404;
}

const authPlugin: FastifyPluginAsync<{ authenticator: Authenticator; publicDocs?: boolean }> = async (
  app,
  { authenticator, publicDocs = false },
) => {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (req) => {
    if (isPublic(req, publicDocs)) return;
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? BEARER.exec(header.trim()) : null;
    const principal = match ? await authenticator.authenticate(match[1]!) : undefined;
    if (!principal) {
      throw new HttpError(
        401,
        'Unauthorized',
        'send Authorization: Bearer <token> with a token from MLR_API_TOKENS or your identity provider',
        { 'www-authenticate': 'Bearer' },
      );
    }
    req.principal = principal;
  });
};

export default fp(authPlugin, { name: 'mlr-auth' });

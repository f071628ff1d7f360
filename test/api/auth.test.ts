import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { buildApp } from '../../src/api/app';
import { parseApiTokens } from '../../src/config';
import { DEFAULT_CSP } from '../../src/api/plugins/headers';
import { createHarness, testTimeouts, AUTH, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const id = '00000000-0000-4000-8000-000000000000';
const routes: Array<[string, string]> = [
  ['POST', '/v1/papers'],
  ['GET', '/v1/papers'],
  ['GET', `/v1/papers/${id}`],
  ['POST', '/v1/runs'],
  ['GET', '/v1/runs'],
  ['GET', `/v1/runs/${id}`],
  ['POST', `/v1/runs/${id}/approval`],
  ['POST', `/v1/runs/${id}/cancel`],
  ['GET', `/v1/runs/${id}/events`],
  ['POST', `/v1/runs/${id}/feedback`],
  ['POST', `/v1/runs/${id}/pause`],
  ['POST', `/v1/runs/${id}/resume`],
  ['GET', `/v1/runs/${id}/experiments/${id}/log`],
  ['GET', `/v1/runs/${id}/workspace`],
  ['GET', `/v1/runs/${id}/steps`],
  ['GET', `/v1/runs/${id}/report`],
  ['GET', `/v1/runs/${id}/report/chart.svg`],
  ['GET', '/v1/approvals'],
  ['POST', '/v1/approvals'],
  ['GET', '/metrics'],
];

/** Sends a raw request line over a socket, as a client may that does not normalise its URL. */
function rawRequest(port: number, requestLine: string, headers = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    // Written, not ended: the server closes the connection after its answer (Connection: close).
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`${requestLine}\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`),
    );
    let data = '';
    socket.on('data', (d) => {
      data += d.toString();
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('authentication', () => {
  it.each(routes)('answers 401 to %s %s without a token', async (method, url) => {
    const res = await h.app.inject({ method: method as 'GET', url, payload: method === 'POST' ? {} : undefined });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('Unauthorized');
  });

  it.each(routes)('answers 401 to %s %s with a wrong token', async (method, url) => {
    const res = await h.app.inject({ method: method as 'GET', url, headers: { authorization: 'Bearer wrong' } });
    expect(res.statusCode).toBe(401);
  });

  it.each([
    ['a percent-encoded path', '/%76%31/runs'],
    ['an encoded slash', '/v1%2Fruns'],
    ['a trailing slash', '/v1/runs/'],
    ['an upper-case prefix', '/V1/runs'],
    ['a double slash', '//v1/runs'],
    ['a dot segment', '/docs/../v1/runs'],
    ['an unknown path', '/v1/secrets'],
  ])('gives no data for %s without a token', async (_what, url) => {
    const res = await h.app.inject({ method: 'GET', url });
    expect([401, 403, 404]).toContain(res.statusCode);
    expect(res.json().items).toBeUndefined();
    // Unknown or unmatched paths need a token before they even say "not found"; so do the docs.
    expect(res.statusCode).toBe(401);
  });

  it('serves the console page at the root without a token, and it holds no data', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/); // no ids of anything
    expect(res.body).toContain('/console/app.js');
  });

  it('answers 404, not data, for an unmatched path with a valid token', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: AUTH });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NotFound');
  });

  it('refuses absolute-form and encoded request lines on a real socket', async () => {
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = h.app.server.address() as AddressInfo;
    for (const line of [
      'GET http://127.0.0.1/v1/runs HTTP/1.1',
      'GET http://evil/v1/papers HTTP/1.1',
      'GET /%76%31/runs HTTP/1.1',
      'GET /v1/runs?x=/healthz HTTP/1.1',
    ]) {
      const response = await rawRequest(port, line);
      const status = Number(response.split(' ')[1]);
      expect({ line, status: [400, 401, 404].includes(status) }).toEqual({ line, status: true });
      expect(response).not.toContain('"items"');
    }
    const ok = await rawRequest(
      port,
      'GET /v1/runs HTTP/1.1',
      `Authorization: Bearer ${AUTH.authorization.slice(7)}\r\n`,
    );
    expect(ok).toMatch(/^HTTP\/1\.1 200/);
  });

  it('keeps the API docs behind a token unless the operator makes them public', async () => {
    for (const url of ['/docs', '/docs/json', '/docs/static/index.html'])
      expect((await h.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    const docs = await h.app.inject({ method: 'GET', url: '/docs/json', headers: AUTH });
    expect(docs.json().paths['/v1/runs']).toBeDefined();
    const app = await buildApp({
      config: { ...h.config, MLR_PUBLIC_DOCS: true },
      db: h.pool,
      gateway: { ping: async () => ({ workerPolling: true }) } as never,
      runTimeouts: testTimeouts,
      store: {} as never,
    });
    try {
      expect((await app.inject({ method: 'GET', url: '/docs/json' })).json().paths['/v1/runs']).toBeDefined();
      expect((await app.inject({ method: 'GET', url: '/docs/../v1/runs' })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/v1/runs' })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('sends nosniff everywhere, and a policy that loads and runs nothing on every non-JSON answer', async () => {
    const health = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.headers['x-content-type-options']).toBe('nosniff');
    expect(health.headers['content-security-policy']).toBeUndefined(); // JSON is never rendered
    // A log or a Markdown report, as any route sends text: here one of the test's own on a fresh app.
    const app = await buildApp({
      config: h.config,
      db: h.pool,
      gateway: { ping: async () => ({ workerPolling: true }) } as never,
      runTimeouts: testTimeouts,
      store: {} as never,
    });
    app.get('/test/log', { config: { public: true } }, async (_req, reply) =>
      reply.type('text/plain').send('<script>alert(1)</script>'),
    );
    try {
      const text = await app.inject({ method: 'GET', url: '/test/log' });
      expect(text.headers['content-security-policy']).toBe(DEFAULT_CSP);
      expect(text.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await app.close();
    }
    expect(DEFAULT_CSP).toMatch(/default-src 'none'.*; sandbox$/);
    const console = await h.app.inject({ method: 'GET', url: '/' });
    expect(console.headers['content-security-policy']).toMatch(/script-src 'self'/); // its own
    const denied = await h.app.inject({ method: 'GET', url: '/v1/runs' });
    expect(denied.headers['x-content-type-options']).toBe('nosniff');
  });

  it('leaves health and readiness open, ready without a worker, and readiness says nothing internal', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    // No worker polls this harness's queue: the API still serves (runs queue in Temporal); the body says so, in
    // booleans only.
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      ready: true,
      checks: { postgres: { ok: true }, temporal: { ok: true }, worker: { ok: false } },
    });
  });

  it('reports the worker check once a worker polls the task queue', async () => {
    await h.startWorker();
    let ready;
    for (let i = 0; i < 50; i++) {
      ready = await h.app.inject({ method: 'GET', url: '/readyz' });
      if (ready.json().checks.worker.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready!.json()).toEqual({
      ready: true,
      checks: { postgres: { ok: true }, temporal: { ok: true }, worker: { ok: true } },
    });
  });
});

describe('static tokens', () => {
  it('lets a padded base64 token in, and never its padding alone', async () => {
    const padded = 'q8Zk3nV1bW9yZXNlY3JldA==';
    const app = await buildApp({
      config: { ...h.config, apiUsers: parseApiTokens(`default=${padded}:admin`) },
      db: h.pool,
      gateway: { ping: async () => ({ workerPolling: true }) } as never,
      runTimeouts: testTimeouts,
      store: {} as never,
    });
    try {
      const get = (token: string) =>
        app.inject({ method: 'GET', url: '/v1/papers', headers: { authorization: `Bearer ${token}` } });
      expect((await get(padded)).statusCode).toBe(200);
      for (const guess of ['=', '==', 'q8Zk3nV1bW9yZXNlY3JldA', `${padded}:admin`])
        expect((await get(guess)).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe('OIDC bearer tokens', () => {
  let issuer: http.Server;
  let issuerUrl: string;
  let privateKey: KeyLike;
  let other: KeyLike;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    other = (await generateKeyPair('RS256')).privateKey;
    // A local identity provider: discovery document and JWKS, as a real one serves them.
    const keys = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    issuer = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration')
        res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks` }));
      else if (req.url === '/jwks') res.end(JSON.stringify(keys));
      else res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => issuer.listen(0, '127.0.0.1', r));
    issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => issuer.close(r));
  });

  const sign = (
    key: KeyLike,
    claims: Record<string, unknown>,
    opts: { aud?: string; exp?: string; iss?: string } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(opts.iss ?? issuerUrl)
      .setAudience(opts.aud ?? 'mlr')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(key);

  it('accepts a JWT from the issuer as its subject, and refuses forged, expired and foreign ones', async () => {
    const app = await buildApp({
      config: { ...h.config, MLR_OIDC_ISSUER: issuerUrl, MLR_OIDC_AUDIENCE: 'mlr', oidcAdmins: ['root-sub'] },
      db: h.pool,
      gateway: { ping: async () => ({ workerPolling: true }) } as never,
      runTimeouts: testTimeouts,
      store: {} as never,
    });
    try {
      const get = async (token: string) =>
        app.inject({ method: 'GET', url: '/v1/papers', headers: { authorization: `Bearer ${token}` } });
      const good = await get(await sign(privateKey, { sub: 'carol' }));
      expect(good.statusCode).toBe(200);
      const upload = await app.inject({
        method: 'POST',
        url: '/v1/papers',
        headers: { authorization: `Bearer ${await sign(privateKey, { sub: 'carol' })}` },
        payload: { content: '# Carol\n\nbody', format: 'markdown' },
      });
      expect(upload.json().owner).toBe('oidc:carol'); // never the static user carol
      const star = await get(await sign(privateKey, { sub: '*' }));
      expect(star.statusCode).toBe(200);
      expect(star.json().items).toEqual([]); // subject "*" is oidc:*, not every owner
      expect((await get(await sign(other, { sub: 'mallory' }))).statusCode).toBe(401);
      expect((await get(await sign(privateKey, { sub: 'carol' }, { aud: 'someone-else' }))).statusCode).toBe(401);
      expect((await get(await sign(privateKey, { sub: 'carol' }, { exp: '-1m' }))).statusCode).toBe(401);
      expect((await get(await sign(privateKey, { sub: 'carol' }, { iss: 'http://elsewhere' }))).statusCode).toBe(401);
      expect((await get(await sign(privateKey, {}))).statusCode).toBe(401); // no subject, no user
    } finally {
      await app.close();
    }
  });
});

import { createHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => { h = await createHarness(); });
afterAll(async () => { await h.close(); });

const id = '00000000-0000-4000-8000-000000000000';
const routes: Array<[string, string]> = [
  ['POST', '/v1/papers'], ['GET', '/v1/papers'], ['GET', `/v1/papers/${id}`],
  ['POST', '/v1/runs'], ['GET', '/v1/runs'], ['GET', `/v1/runs/${id}`],
  ['POST', `/v1/runs/${id}/approval`], ['POST', `/v1/runs/${id}/cancel`], ['GET', `/v1/runs/${id}/events`],
];

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

  it('leaves health, readiness and the API docs open', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/docs/json' })).json().paths['/v1/runs']).toBeDefined();
    // No worker polls this harness's queue: not ready, and it says why.
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks).toMatchObject({ postgres: { ok: true }, temporal: { ok: true }, worker: { ok: false } });
  });

  it('reports ready once a worker polls the task queue', async () => {
    await h.startWorker();
    let ready;
    for (let i = 0; i < 50; i++) {
      ready = await h.app.inject({ method: 'GET', url: '/readyz' });
      if (ready.statusCode === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready!.json()).toEqual({ ready: true, checks: { postgres: { ok: true }, temporal: { ok: true }, worker: { ok: true } } });
  });
});

// Shared storage is checked, not assumed: workers register in Postgres, one whose artifact store is its own
// disk refuses to start beside a live worker on another host, and admins see them all.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../src/config';
import { joinRegistry } from '../src/worker-registry';
import { AUTH, createHarness, type Harness } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ MLR_API_TOKENS: 'test-token-0123456789:admin,bob=tok-bob-0123456789' });
});
afterAll(async () => h.close());

const config = (store: 'fs' | 's3') => ({ MLR_ARTIFACTS: store, MLR_TASK_QUEUE: 'q' }) as const;

describe('the worker registry', () => {
  it('refuses a worker with a local store beside a live worker on another host, and says what to set', async () => {
    const a = await joinRegistry(h.pool, config('s3'), { host: 'host-a' });
    // A second worker on the same host may share its disk; one on another host may not.
    const same = await joinRegistry(h.pool, config('fs'), { host: 'host-a' });
    await same.leave();
    await expect(joinRegistry(h.pool, config('fs'), { host: 'host-b' })).rejects.toThrow(ConfigError);
    await expect(joinRegistry(h.pool, config('fs'), { host: 'host-b' })).rejects.toThrow(/MLR_ARTIFACTS=s3/);
    // Workers that share the store join from anywhere.
    const b = await joinRegistry(h.pool, config('s3'), { host: 'host-b' });
    await a.leave();
    await b.leave();
    // Once the others left (or stopped beating), the local store may run alone.
    const alone = await joinRegistry(h.pool, config('fs'), { host: 'host-c' });
    // A worker with a shared store does not join a database where a local-store worker runs elsewhere.
    await expect(joinRegistry(h.pool, config('s3'), { host: 'host-d' })).rejects.toThrow(/host-c/);
    await h.pool.query("UPDATE workers SET heartbeat_at = now() - interval '5 minutes' WHERE host = 'host-c'");
    const after = await joinRegistry(h.pool, config('s3'), { host: 'host-d' });
    await after.leave();
    await alone.leave();
  });

  it('touches its alive file when it joins and on each beat that reached Postgres', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-alive-')), 'worker.alive');
    const w = await joinRegistry(h.pool, config('s3'), { host: 'host-alive', beatMs: 20, aliveFile: file });
    const first = fs.readFileSync(file, 'utf8');
    for (let i = 0; i < 200 && fs.readFileSync(file, 'utf8') === first; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(fs.readFileSync(file, 'utf8')).not.toBe(first);
    await w.leave();
  });

  it('lists the workers for an admin, with whether each is live, and counts them in /metrics', async () => {
    const w = await joinRegistry(h.pool, config('s3'), { host: 'host-list', beatMs: 20 });
    const before = (await h.pool.query('SELECT heartbeat_at FROM workers WHERE id = $1', [w.id])).rows[0];
    for (let i = 0; i < 200; i++) {
      const now = (await h.pool.query('SELECT heartbeat_at FROM workers WHERE id = $1', [w.id])).rows[0];
      if (now.heartbeat_at > before.heartbeat_at) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const res = await h.app.inject({ method: 'GET', url: '/v1/workers', headers: AUTH });
    expect(res.statusCode).toBe(200);
    const mine = res.json().items.find((x: { id: string }) => x.id === w.id);
    expect(mine).toMatchObject({ host: 'host-list', store: 's3', version: '0.1.0', live: true, stoppedAt: null });
    expect(new Date(mine.heartbeatAt).getTime()).toBeGreaterThan(before.heartbeat_at.getTime());
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics', headers: AUTH });
    expect(metrics.body).toMatch(/^mlr_workers_live\{store="s3"\} [1-9]\d*$/m);
    await w.leave();
    const gone = (await h.app.inject({ method: 'GET', url: '/v1/workers', headers: AUTH })).json();
    expect(gone.items.find((x: { id: string }) => x.id === w.id)).toMatchObject({ live: false });
    expect((await h.app.inject({ method: 'GET', url: '/v1/workers' })).statusCode).toBe(401);
    const bob = await h.app.inject({
      method: 'GET',
      url: '/v1/workers',
      headers: { authorization: 'Bearer tok-bob-0123456789' },
    });
    expect(bob.statusCode).toBe(403);
  });
});

// A reservation stays counted while its execution lives, however long a queue holds the Job.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { extendReservation, reserve, settle } from '../../src/db/ledger';
import { ZERO_SPEND } from '../../src/domain/budget';
import { createTestDatabase } from '../support/harness';
import { ApplicationFailure } from '@temporalio/common';
import { quotaWaitMs, SLOT_RETRY_MS } from '../../src/workflows/budget-guard';

let pool: Pool;

/** A run of `owner`'s, on a paper of theirs: all the ledger needs of it. */
async function newRun(owner: string): Promise<string> {
  const [paper, run] = [randomUUID(), randomUUID()];
  await pool.query(
    `INSERT INTO papers (id, owner, content_hash, title, format, content, sections, bytes)
     VALUES ($1, $2, $3, 'P', 'markdown', '# P', '[]', 3)`,
    [paper, owner, `hash-${paper}`],
  );
  await pool.query(
    `INSERT INTO runs (id, owner, paper_id, workflow_id, status, mode, idea_count, request_hash, until, input)
     VALUES ($1, $2, $3, $4, 'executing', 'autonomous', 1, 'h', 'succeeded', '{}')`,
    [run, owner, paper, `run-${run}`],
  );
  return run;
}
let runId: string;
beforeAll(async () => {
  ({ pool } = await createTestDatabase());
  runId = await newRun('alice');
});
afterAll(async () => {
  await pool.end();
});

/** A fresh execution's reservation of `estimate` on `run`, under `defaults` and the owner's `limits`. */
const execution = (
  run: string,
  estimate: Partial<typeof ZERO_SPEND>,
  defaults: Parameters<typeof reserve>[2],
  limits?: Parameters<typeof reserve>[3],
) =>
  reserve(
    pool,
    {
      key: `exec:${randomUUID()}`,
      runId: run,
      kind: 'execution',
      stage: 'agent',
      estimate: { ...ZERO_SPEND, ...estimate },
      ttlMs: 60_000,
    },
    defaults,
    limits,
  );

const secondsLeft = async (key: string) =>
  Number(
    (await pool.query(`SELECT extract(epoch FROM expires_at - now()) AS s FROM ledger WHERE key = $1`, [key])).rows[0]
      .s,
  );

async function reserved(ttlMs: number): Promise<string> {
  const key = `exec:${randomUUID()}`;
  const r = { key, runId, kind: 'execution' as const, stage: 'agent', estimate: { ...ZERO_SPEND, gpuHours: 1 }, ttlMs };
  expect(await reserve(pool, r, { usd: 100, tokens: 1e9, gpuHours: 100 })).toEqual({ ok: true });
  return key;
}

describe('the ledger', () => {
  it('extends a live reservation, and leaves a settled or lapsed one as it is', async () => {
    const live = await reserved(60_000);
    expect(await secondsLeft(live)).toBeLessThanOrEqual(60);
    expect(await extendReservation(pool, live, 3_600_000)).toBe(true);
    expect(await secondsLeft(live)).toBeGreaterThan(3500);

    const settled = await reserved(60_000);
    await settle(pool, settled, ZERO_SPEND);
    expect(await extendReservation(pool, settled, 3_600_000)).toBe(false);

    const lapsed = await reserved(0);
    expect(await extendReservation(pool, lapsed, 3_600_000)).toBe(false);
    expect(await secondsLeft(lapsed)).toBeLessThanOrEqual(0);
  });

  it("refuses a reservation past the owner's quota over all their runs, saying when the window has room", async () => {
    const otherRun = await newRun('alice');
    const quota = { budget: { gpuHours: 3 }, periodHours: 24 };
    const ask = (run: string, gpuHours: number) =>
      execution(run, { gpuHours }, { usd: 100, tokens: 1e9, gpuHours: 100 }, { quota });
    // The earlier test's live reservation (1 GPU-hour, alice's) counts: 1 + 1.5 fits in 3, 0.6 more does not.
    expect(await ask(otherRun, 1.5)).toEqual({ ok: true });
    const refused = await ask(runId, 0.6);
    expect(refused).toMatchObject({
      ok: false,
      quota: { scope: 'user', limit: 'gpuHours', budget: 3, requested: 0.6 },
    });
    const retryAt = Date.parse((refused as { quota: { retryAt: string } }).quota.retryAt);
    expect(retryAt - Date.now()).toBeGreaterThan(23 * 3_600_000); // when the oldest spend leaves the window
    expect(retryAt - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
    expect(await ask(runId, 0.4)).toEqual({ ok: true }); // what still fits is not held back
    // Another user's quota is their own.
    const bobRun = await newRun('bob');
    expect(await ask(bobRun, 2.5)).toEqual({ ok: true });
  });

  it('holds CPU-hours to a run budget like the other limits', async () => {
    const run = await newRun('dave');
    const ask = (cpuHours: number) =>
      execution(run, { cpuHours }, { usd: 100, tokens: 1e9, gpuHours: 100, cpuHours: 1 });
    expect(await ask(0.7)).toEqual({ ok: true });
    expect(await ask(0.5)).toMatchObject({ ok: false, exhausted: { scope: 'run', limit: 'cpuHours', budget: 1 } });
  });
});

describe("one user's executions at once", () => {
  it('are capped over all their runs; model calls and other users are not held back', async () => {
    const owner = `carol-${randomUUID().slice(0, 8)}`;
    const runs = [await newRun(owner), await newRun(owner)];
    const ask = (run: string, kind: 'execution' | 'model', key = `${kind}:${randomUUID()}`) =>
      reserve(
        pool,
        { key, runId: run, kind, stage: 'agent', estimate: { ...ZERO_SPEND }, ttlMs: 60_000 },
        { usd: 100, tokens: 1e9, gpuHours: 100 },
        { maxExecutions: 2 },
      );
    const first = `execution:${randomUUID()}`;
    expect(await ask(runs[0]!, 'execution', first)).toEqual({ ok: true });
    expect(await ask(runs[1]!, 'execution')).toEqual({ ok: true });
    expect(await ask(runs[1]!, 'execution')).toEqual({ ok: false, busy: { running: 2, max: 2, scope: 'user' } });
    expect(await ask(runs[0]!, 'model')).toEqual({ ok: true });
    expect(await ask(runs[0]!, 'execution', first)).toEqual({ ok: true }); // its own retry is not a second one
    await settle(pool, first, ZERO_SPEND);
    expect(await ask(runs[1]!, 'execution')).toEqual({ ok: true }); // a settled one frees its slot
  });
});

describe('waiting for a quota window', () => {
  const failure = (retryAt: unknown) =>
    ApplicationFailure.create({ type: 'UserQuotaExhausted', details: [{ retryAt }], nonRetryable: true });
  it('waits until the window has room, at least a slot wait and at most a day', () => {
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    expect(quotaWaitMs(failure(inAnHour))).toBeGreaterThan(3_590_000);
    expect(quotaWaitMs(failure(inAnHour))).toBeLessThanOrEqual(3_600_000);
    expect(quotaWaitMs(failure(new Date(Date.now() - 1000).toISOString()))).toBe(SLOT_RETRY_MS);
    expect(quotaWaitMs(failure(new Date(Date.now() + 7 * 86_400_000).toISOString()))).toBe(86_400_000);
    expect(quotaWaitMs(failure('not a date'))).toBe(SLOT_RETRY_MS);
  });
});

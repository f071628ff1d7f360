// A reservation stays counted while its execution lives, however long a queue holds the Job.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { extendReservation, reserve, settle } from '../../src/db/ledger';
import { ZERO_SPEND } from '../../src/domain/budget';
import { createTestDatabase } from '../support/harness';

let pool: Pool;
let runId: string;
beforeAll(async () => {
  ({ pool } = await createTestDatabase());
  runId = randomUUID();
  await pool.query(
    `INSERT INTO runs (id, owner, workflow_id, status, mode, idea_count, request_hash, until, input)
     VALUES ($1, 'alice', $2, 'executing', 'autonomous', 1, 'h', 'succeeded', '{}')`,
    [runId, `run-${runId}`],
  );
});
afterAll(async () => {
  await pool.end();
});

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
});

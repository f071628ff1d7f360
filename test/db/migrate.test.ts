import { listMigrations, migrate } from '../../src/db/migrate';
import { appendEvent } from '../../src/db/events';
import { createTestDatabase } from '../support/harness';
import type { Pool } from 'pg';

let pool: Pool;
beforeAll(async () => { ({ pool } = await createTestDatabase()); });
afterAll(async () => { await pool.end(); });

describe('migrations', () => {
  it('apply once: a second run applies nothing', async () => {
    expect(await migrate(pool)).toEqual([]);
    const { rows } = await pool.query('SELECT name FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.name)).toEqual(listMigrations().map((m) => m.name));
    expect(rows.map((r) => r.name)).toEqual(['001_init.sql', '002_experiments.sql', '003_validation.sql']);
  });

  it('run concurrently without racing', async () => {
    await expect(Promise.all([migrate(pool), migrate(pool), migrate(pool)])).resolves.toEqual([[], [], []]);
  });

  it('make run events append-only', async () => {
    await pool.query(`INSERT INTO papers (id, content_hash, title, format, content, sections, bytes) VALUES (gen_random_uuid(), 'h', 't', 'text', 'c', '[]', 1)`);
    const runId = '11111111-1111-4111-8111-111111111111';
    await pool.query(`INSERT INTO runs (id, paper_id, workflow_id, status, mode, idea_count, request_hash)
      SELECT $1, id, 'wf', 'queued', 'supervised', 1, 'x' FROM papers LIMIT 1`, [runId]);
    await appendEvent(pool, runId, 'status', { status: 'queued' });
    await expect(pool.query('UPDATE run_events SET type = $1', ['x'])).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM run_events')).rejects.toThrow(/append-only/);
  });
});

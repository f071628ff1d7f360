import { checkSchema, listMigrations, migrate, prepareSchema } from '../../src/db/migrate';
import { appendEvent } from '../../src/db/events';
import { createTestDatabase } from '../support/harness';
import type { Pool } from 'pg';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../support/paths';

let pool: Pool;
beforeAll(async () => {
  ({ pool } = await createTestDatabase());
});
afterAll(async () => {
  await pool.end();
});

describe('migrations', () => {
  it('apply once: a second run applies nothing', async () => {
    expect(await migrate(pool)).toEqual([]);
    const { rows } = await pool.query('SELECT name FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.name)).toEqual(listMigrations().map((m) => m.name));
    expect(rows.map((r) => r.name)).toEqual([
      '001_init.sql',
      '002_experiments.sql',
      '003_validation.sql',
      '004_owners.sql',
      '005_sandbox.sql',
      '006_executor.sql',
      '007_campaigns.sql',
      '008_benchmarks.sql',
      '009_event_order.sql',
      '010_working_state.sql',
      '011_workers.sql',
      '012_run_error_type.sql',
      '013_baseline_fingerprint.sql',
      '014_experiment_script.sql',
      '015_agent_step_thought.sql',
      '016_model_endpoints.sql',
      '017_hub_repos.sql',
    ]);
  });

  it('only check under MLR_MIGRATE=check: a current schema passes, one behind names what to run', async () => {
    await expect(checkSchema(pool)).resolves.toBeUndefined();
    const ahead = [...listMigrations(), { version: 999, name: '999_next.sql', sql: 'SELECT 1' }];
    await expect(checkSchema(pool, ahead)).rejects.toThrow(/999_next\.sql.*dist\/db\/migrate\.js/);
    // Checking never applies: the next migration is still missing afterwards.
    await expect(prepareSchema(pool, 'check')).resolves.toBeUndefined();
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM schema_migrations WHERE version = 999');
    expect(rows[0].n).toBe(0);
  });

  it('refuse, under check, a database never migrated, naming every migration', async () => {
    const { pool: empty } = await createTestDatabase([]);
    await empty.query('DROP TABLE schema_migrations');
    const all = listMigrations().map((m) => m.name);
    await expect(checkSchema(empty)).rejects.toThrow(
      `lacks ${all.length} migration(s) of this release (${all.join(', ')})`,
    );
    await empty.end();
  });

  it('run once from the command line (the hook Job), and say so again on a current schema', async () => {
    const { pool: fresh, url } = await createTestDatabase([]);
    const cli = () =>
      execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/db/migrate.ts'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, DATABASE_URL: url },
        encoding: 'utf8',
      });
    expect(cli()).toMatch(/^applied 001_init\.sql, .*017_hub_repos\.sql/);
    expect(cli()).toMatch(/the schema is current/);
    await expect(checkSchema(fresh)).resolves.toBeUndefined();
    await fresh.end();
  }, 60_000);

  it('run concurrently without racing', async () => {
    await expect(Promise.all([migrate(pool), migrate(pool), migrate(pool)])).resolves.toEqual([[], [], []]);
  });

  it('make run events append-only', async () => {
    await pool.query(
      `INSERT INTO papers (id, owner, content_hash, title, format, content, sections, bytes) VALUES (gen_random_uuid(), 'u', 'h', 't', 'text', 'c', '[]', 1)`,
    );
    const runId = '11111111-1111-4111-8111-111111111111';
    await pool.query(
      `INSERT INTO runs (id, owner, paper_id, workflow_id, status, mode, idea_count, request_hash)
      SELECT $1, 'u', id, 'wf', 'queued', 'supervised', 1, 'x' FROM papers LIMIT 1`,
      [runId],
    );
    await appendEvent(pool, runId, 'status', { status: 'queued' });
    await expect(pool.query('UPDATE run_events SET type = $1', ['x'])).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM run_events')).rejects.toThrow(/append-only/);
  });

  it('give rows made before users existed to the user default, and scope de-duplication and keys per owner', async () => {
    const { pool: fresh } = await createTestDatabase(listMigrations().filter((m) => m.version < 4));
    try {
      await fresh.query(`INSERT INTO papers (id, content_hash, title, format, content, sections, bytes)
        VALUES ('22222222-2222-4222-8222-222222222222', 'same', 't', 'text', 'c', '[]', 1)`);
      await fresh.query(`INSERT INTO runs (id, paper_id, workflow_id, status, mode, idea_count, request_hash, idempotency_key)
        VALUES ('33333333-3333-4333-8333-333333333333', '22222222-2222-4222-8222-222222222222', 'wf-old', 'queued', 'supervised', 1, 'x', 'k')`);
      expect(await migrate(fresh)).toEqual([
        '004_owners.sql',
        '005_sandbox.sql',
        '006_executor.sql',
        '007_campaigns.sql',
        '008_benchmarks.sql',
        '009_event_order.sql',
        '010_working_state.sql',
        '011_workers.sql',
        '012_run_error_type.sql',
        '013_baseline_fingerprint.sql',
        '014_experiment_script.sql',
        '015_agent_step_thought.sql',
        '016_model_endpoints.sql',
        '017_hub_repos.sql',
      ]);
      expect((await fresh.query('SELECT owner FROM papers')).rows).toEqual([{ owner: 'default' }]);
      expect((await fresh.query('SELECT owner FROM runs')).rows).toEqual([{ owner: 'default' }]);
      // The same content and the same key are another user's own.
      await fresh.query(`INSERT INTO papers (id, owner, content_hash, title, format, content, sections, bytes)
        VALUES (gen_random_uuid(), 'alice', 'same', 't', 'text', 'c', '[]', 1)`);
      await fresh.query(`INSERT INTO runs (id, owner, paper_id, workflow_id, status, mode, idea_count, request_hash, idempotency_key)
        VALUES (gen_random_uuid(), 'alice', '22222222-2222-4222-8222-222222222222', 'wf-new', 'queued', 'supervised', 1, 'x', 'k')`);
      await expect(
        fresh.query(`INSERT INTO papers (id, owner, content_hash, title, format, content, sections, bytes)
        VALUES (gen_random_uuid(), 'alice', 'same', 't', 'text', 'c', '[]', 1)`),
      ).rejects.toThrow(/papers_owner_content_hash_key/);
    } finally {
      await fresh.end();
    }
  });
});

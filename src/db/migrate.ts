import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');
// Any constant works; it only has to be the same for every process that migrates this database.
const MIGRATION_LOCK = 7_311_042;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.split('_')[0]), name: f, sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

/**
 * Applies pending migrations in order, each in its own transaction. The advisory lock lets the API and
 * the worker start together against one database without racing.
 */
export async function migrate(pool: Pool, migrations = listMigrations()): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.name);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}

/**
 * Where a release's migrations run once, ahead of its pods (the chart's hook Job), the API and the workers only
 * check: a schema behind this release stops them with what to run, instead of each replica migrating.
 */
export async function checkSchema(pool: Pool, migrations = listMigrations()): Promise<void> {
  const { rows } = await pool
    .query<{ version: number }>('SELECT version FROM schema_migrations')
    .catch(() => ({ rows: [] as Array<{ version: number }> }));
  const done = new Set(rows.map((r) => r.version));
  const pending = migrations.filter((m) => !done.has(m.version)).map((m) => m.name);
  if (pending.length > 0) {
    throw new Error(
      `the database lacks ${pending.length} migration(s) of this release (${pending.join(', ')}): run ` +
        '`node dist/db/migrate.js` (the chart runs it as a pre-upgrade hook), or set MLR_MIGRATE=apply',
    );
  }
}

/** Applies the schema, or only checks it (MLR_MIGRATE=check), as each entry point is configured. */
export const prepareSchema = (pool: Pool, mode: 'apply' | 'check'): Promise<unknown> =>
  mode === 'check' ? checkSchema(pool) : migrate(pool);

// `node dist/db/migrate.js`: the migrations of this release against DATABASE_URL, once (the chart's hook Job).
if (require.main === module) {
  void (async () => {
    const { Pool: PgPool } = await import('pg');
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is required');
    const pool = new PgPool({ connectionString: url });
    try {
      const applied = await migrate(pool);
      console.log(applied.length > 0 ? `applied ${applied.join(', ')}` : 'the schema is current');
    } finally {
      await pool.end();
    }
  })().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

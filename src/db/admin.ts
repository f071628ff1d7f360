import type { Queryable } from './types';

/** Answers when Postgres does: the readiness probe. */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}

/** Creates the database unless it exists (on the embedded server, before migrations). */
export async function ensureDatabase(admin: Queryable, name: string): Promise<void> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!rowCount) await admin.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
}

import type { PoolClient, QueryResult, QueryResultRow } from 'pg';

/** The slice of pg.Pool the stores use, so tests and transactions can pass a client instead. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/** A pool that can also lend a client for a transaction. */
export interface Transactional extends Queryable {
  connect(): Promise<PoolClient>;
}

/** Runs fn in one transaction on a client of its own; rolls back on any error. */
export async function transaction<T>(db: Transactional, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Text Postgres can store: a NUL byte (which experiment output may carry) is written as the two
 * characters `\0` instead of failing the insert.
 */
export const pgText = <T extends string | null | undefined>(s: T): T =>
  (typeof s === 'string' && s.includes('\u0000') ? s.split('\u0000').join('\\0') : s) as T;

/** JSON Postgres can store: NUL characters inside strings become `\0` (jsonb refuses `\u0000`). */
export const pgJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? pgText(v) : v));

import type { QueryResult, QueryResultRow } from 'pg';

/** The slice of pg.Pool the stores use, so tests and transactions can pass a client instead. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, params?: unknown[]): Promise<QueryResult<R>>;
}

import type { RelatedPaper } from '../domain/run';
import type { Queryable } from './types';

export async function cachedResponse(
  db: Queryable,
  key: string,
  ttlHours: number,
): Promise<RelatedPaper[] | undefined> {
  const { rows } = await db.query<{ response: RelatedPaper[] }>(
    `SELECT response FROM scholar_cache WHERE query_hash = $1 AND fetched_at > now() - $2::float8 * interval '1 hour'`,
    [key, ttlHours],
  );
  return rows[0]?.response;
}

export async function storeResponse(db: Queryable, key: string, query: string, papers: RelatedPaper[]): Promise<void> {
  await db.query(
    `INSERT INTO scholar_cache (query_hash, query, response) VALUES ($1, $2, $3)
     ON CONFLICT (query_hash) DO UPDATE SET response = EXCLUDED.response, fetched_at = now()`,
    [key, query, JSON.stringify(papers)],
  );
}

import { createHash } from 'node:crypto';
import type { Scholar, ScholarPaper } from '../clients/scholar';
import type { Config } from '../config';
import type { Queryable } from '../db/types';

/** Semantic Scholar search through a Postgres cache, so repeated runs on a paper cost no API quota. */
export async function cachedSearch(
  deps: { db: Queryable; scholar: Scholar; config: Pick<Config, 'MLR_S2_CACHE_TTL_HOURS'> },
  query: string,
  limit: number,
  signal?: AbortSignal,
): Promise<ScholarPaper[]> {
  const key = createHash('sha256').update(`${limit}:${query}`).digest('hex');
  const { rows } = await deps.db.query<{ response: ScholarPaper[] }>(
    `SELECT response FROM scholar_cache WHERE query_hash = $1 AND fetched_at > now() - $2::float8 * interval '1 hour'`,
    [key, deps.config.MLR_S2_CACHE_TTL_HOURS],
  );
  if (rows[0]) return rows[0].response;
  const papers = await deps.scholar.search(query, limit, signal);
  await deps.db.query(
    `INSERT INTO scholar_cache (query_hash, query, response) VALUES ($1, $2, $3)
     ON CONFLICT (query_hash) DO UPDATE SET response = EXCLUDED.response, fetched_at = now()`,
    [key, query, JSON.stringify(papers)],
  );
  return papers;
}

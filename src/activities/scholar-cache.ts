import { createHash } from 'node:crypto';
import type { Scholar, ScholarPaper } from '../clients/scholar';
import type { Config } from '../config';
import { cachedResponse, storeResponse } from '../db/scholar-cache';
import type { Queryable } from '../db/types';

/** Semantic Scholar search through a Postgres cache, so repeated runs on a paper cost no API quota. */
export async function cachedSearch(
  deps: { db: Queryable; scholar: Scholar; config: Pick<Config, 'MLR_S2_CACHE_TTL_HOURS'> },
  query: string,
  limit: number,
  signal?: AbortSignal,
): Promise<ScholarPaper[]> {
  const key = createHash('sha256').update(`${limit}:${query}`).digest('hex');
  const cached = await cachedResponse(deps.db, key, deps.config.MLR_S2_CACHE_TTL_HOURS);
  if (cached) return cached;
  const papers = await deps.scholar.search(query, limit, signal);
  await storeResponse(deps.db, key, query, papers);
  return papers;
}

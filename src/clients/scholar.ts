// Semantic Scholar Graph API: paper search with a client-side rate limit and bounded retries.
import { retryAfterMs } from './llm';

import type { RelatedPaper } from '../domain/run';

export type ScholarPaper = RelatedPaper;

/** The one method retrieval needs; tests pass a client pointed at a local server. */
export interface Scholar {
  search(query: string, limit: number, signal?: AbortSignal): Promise<ScholarPaper[]>;
}

export class ScholarUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScholarUnavailableError';
  }
}

export interface ScholarOptions {
  baseUrl: string;
  apiKey?: string;
  requestsPerSecond: number;
  timeoutMs: number;
  retries: number;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

const FIELDS = 'title,abstract,year,url,citationCount,authors';
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Spaces request starts at least `1 / rps` seconds apart across every caller in this process. */
export function createRateLimiter(requestsPerSecond: number, sleep = delay): () => Promise<void> {
  const interval = 1000 / requestsPerSecond;
  let next = 0;
  return async () => {
    const now = Date.now();
    const start = Math.max(now, next);
    next = start + interval;
    if (start > now) await sleep(start - now);
  };
}

export function createScholarClient(opts: ScholarOptions): Scholar {
  const fetchImpl = opts.fetchImpl ?? fetch;
  const sleep = opts.sleep ?? delay;
  const acquire = createRateLimiter(opts.requestsPerSecond, sleep);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.apiKey) headers['x-api-key'] = opts.apiKey;

  return {
    async search(query, limit, signal) {
      const url = `${opts.baseUrl.replace(/\/$/, '')}/paper/search?${new URLSearchParams({ query, limit: String(limit), fields: FIELDS })}`;
      let lastError = 'no attempt made';
      for (let attempt = 0; attempt <= opts.retries; attempt++) {
        await acquire();
        let wait = 500 * 2 ** attempt;
        try {
          const timeout = AbortSignal.timeout(opts.timeoutMs);
          const res = await fetchImpl(url, { headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
          if (res.ok) {
            const body = (await res.json()) as { data?: Array<Record<string, unknown>> };
            return (body.data ?? []).map(toPaper);
          }
          lastError = `HTTP ${res.status}`;
          if (res.status !== 429 && res.status < 500)
            throw new ScholarUnavailableError(`Semantic Scholar answered ${lastError}`);
          wait = retryAfterMs(res.headers) ?? wait;
        } catch (err) {
          if (err instanceof ScholarUnavailableError || signal?.aborted) throw err;
          lastError = (err as Error).message;
        }
        if (attempt < opts.retries) await sleep(Math.min(wait, opts.timeoutMs));
      }
      throw new ScholarUnavailableError(
        `Semantic Scholar unreachable after ${opts.retries + 1} attempts: ${lastError}`,
      );
    },
  };
}

function toPaper(raw: Record<string, unknown>): ScholarPaper {
  const authors = Array.isArray(raw.authors) ? raw.authors : [];
  return {
    paperId: String(raw.paperId ?? ''),
    title: String(raw.title ?? ''),
    abstract: typeof raw.abstract === 'string' ? raw.abstract : null,
    year: typeof raw.year === 'number' ? raw.year : null,
    url: typeof raw.url === 'string' ? raw.url : null,
    citationCount: typeof raw.citationCount === 'number' ? raw.citationCount : null,
    authors: authors.map((a) => String((a as { name?: unknown }).name ?? '')).filter(Boolean),
  };
}

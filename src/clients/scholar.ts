// Semantic Scholar Graph API: paper search with a client-side rate limit and bounded retries.
import { createCircuitBreaker } from './breaker';
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

/** The service refused this request (a 4xx other than 429): the request's fault, not the service's. */
export class ScholarRejectedError extends ScholarUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'ScholarRejectedError';
  }
}

export interface ScholarOptions {
  baseUrl: string;
  apiKey?: string;
  requestsPerSecond: number;
  timeoutMs: number;
  retries: number;
  /** Searches that fail in a row before the circuit opens, and how long it stays open. */
  breakerFailures?: number;
  breakerCooldownMs?: number;
  /** Longest wait in the rate limiter's queue before a search is answered ScholarBusyError; unset: no limit. */
  maxQueueWaitMs?: number;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const FIELDS = 'title,abstract,year,url,citationCount,authors';
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Spaces request starts at least `1 / rps` seconds apart across every caller in this process; `waitMs()`
 * says how long a caller arriving now would wait, without taking a place.
 */
export function createRateLimiter(
  requestsPerSecond: number,
  sleep = delay,
): (() => Promise<void>) & { waitMs(): number } {
  const interval = 1000 / requestsPerSecond;
  let next = 0;
  const acquire = async () => {
    const now = Date.now();
    const start = Math.max(now, next);
    next = start + interval;
    if (start > now) await sleep(start - now);
  };
  return Object.assign(acquire, { waitMs: () => Math.max(0, next - Date.now()) });
}

/**
 * The rate limiter's queue is longer than a caller should wait holding a worker slot: the caller is told
 * when to come back (a durable timer in Temporal) instead of waiting in place.
 */
export class ScholarBusyError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`Semantic Scholar's rate limit has a queue of ${Math.round(retryAfterMs)} ms; come back later`);
    this.name = 'ScholarBusyError';
  }
}

export function createScholarClient(opts: ScholarOptions): Scholar {
  const fetchImpl = opts.fetchImpl ?? fetch;
  const sleep = opts.sleep ?? delay;
  const acquire = createRateLimiter(opts.requestsPerSecond, sleep);
  const breaker = createCircuitBreaker({
    name: 'Semantic Scholar',
    failures: opts.breakerFailures ?? 3,
    cooldownMs: opts.breakerCooldownMs ?? 60_000,
    now: opts.now,
  });
  const refuseIfOpen = () => {
    const refusal = breaker.refusal();
    if (refusal) throw new ScholarUnavailableError(`circuit open: ${refusal.reason}`);
  };
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.apiKey) headers['x-api-key'] = opts.apiKey;

  // Identical searches in flight at once (the runs of a campaign on one paper) share one request.
  const inflight = new Map<string, Promise<ScholarPaper[]>>();
  const untilAborted = <T>(p: Promise<T>, signal: AbortSignal): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason ?? new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });

  return {
    search(query, limit, signal) {
      const key = `${limit}\0${query}`;
      let shared = inflight.get(key);
      if (!shared) {
        shared = searchOnce(query, limit).finally(() => inflight.delete(key));
        // Every caller may have given up (aborted) before it settles: its failure is then nobody's to handle,
        // and must not surface as an unhandled rejection that takes the process down.
        shared.catch(() => undefined);
        inflight.set(key, shared);
      }
      return signal ? untilAborted(shared, signal) : shared;
    },
  };

  async function searchOnce(query: string, limit: number, signal?: AbortSignal): Promise<ScholarPaper[]> {
    const url = `${opts.baseUrl.replace(/\/$/, '')}/paper/search?${new URLSearchParams({ query, limit: String(limit), fields: FIELDS })}`;
    // A search that finds the service down (its circuit open) fails at once: no request and no place in
    // the rate limiter's queue behind other runs' retries.
    refuseIfOpen();
    const queued = acquire.waitMs();
    if (opts.maxQueueWaitMs !== undefined && queued > opts.maxQueueWaitMs) {
      breaker.abandon();
      throw new ScholarBusyError(queued);
    }
    try {
      const papers = await attempts(url, signal);
      breaker.success();
      return papers;
    } catch (err) {
      // A rejected request is the request's fault, not the service's: it does not trip the breaker.
      if (err instanceof ScholarRejectedError) breaker.success();
      else if (signal?.aborted) breaker.abandon();
      else breaker.failure((err as Error).message);
      throw err;
    }
  }

  async function attempts(url: string, signal?: AbortSignal): Promise<ScholarPaper[]> {
    let lastError = 'no attempt made';
    for (let attempt = 0; attempt <= opts.retries; attempt++) {
      await acquire();
      // Another search may have found the service down while this one waited its turn.
      if (breaker.isOpen())
        throw new ScholarUnavailableError('circuit open: Semantic Scholar failed repeatedly; this search was not sent');
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
          throw new ScholarRejectedError(`Semantic Scholar answered ${lastError}`);
        wait = retryAfterMs(res.headers) ?? wait;
      } catch (err) {
        if (err instanceof ScholarUnavailableError || signal?.aborted) throw err;
        lastError = (err as Error).message;
      }
      if (attempt < opts.retries) await sleep(Math.min(wait, opts.timeoutMs));
    }
    throw new ScholarUnavailableError(`Semantic Scholar unreachable after ${opts.retries + 1} attempts: ${lastError}`);
  }
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

import {
  createRateLimiter,
  createScholarClient,
  ScholarBusyError,
  ScholarUnavailableError,
} from '../../src/clients/scholar';
import { startFakeScholar, type FakeScholar } from '../support/fake-scholar';

let fake: FakeScholar;
beforeAll(async () => {
  fake = await startFakeScholar();
});
afterAll(async () => {
  await fake.close();
});

const client = (over: Partial<Parameters<typeof createScholarClient>[0]> = {}) =>
  createScholarClient({
    baseUrl: fake.baseUrl,
    requestsPerSecond: 1000,
    timeoutMs: 2000,
    retries: 2,
    sleep: async () => undefined,
    ...over,
  });

describe('the Semantic Scholar client', () => {
  it('returns papers with authors flattened', async () => {
    const papers = await client().search('graph nets', 5);
    expect(papers[0]).toMatchObject({ title: 'Related to graph nets', authors: ['A. Author'], year: 2021 });
  });

  it('retries 429 and 5xx within its bound, then succeeds', async () => {
    fake.failNext(429, 500);
    expect(await client().search('x', 5)).toHaveLength(2);
  });

  it('gives up with ScholarUnavailableError after its retries', async () => {
    fake.failNext(503, 503, 503);
    await expect(client().search('x', 5)).rejects.toThrow(/after 3 attempts: HTTP 503/);
  });

  it('does not retry a 4xx', async () => {
    fake.failNext(400);
    const before = fake.queries.length;
    await expect(client().search('x', 5)).rejects.toBeInstanceOf(ScholarUnavailableError);
    expect(fake.queries.length - before).toBe(1);
  });

  it('fails fast when nothing listens', async () => {
    await expect(client({ baseUrl: 'http://127.0.0.1:9/graph/v1', retries: 1 }).search('x', 5)).rejects.toThrow(
      /unreachable after 2 attempts/,
    );
  });
});

describe("Semantic Scholar's circuit breaker", () => {
  it('opens after failures in a row: searches then fail at once, without a request, until one trial after the cool-down', async () => {
    let t = 1_000_000;
    const c = client({ retries: 0, breakerFailures: 2, breakerCooldownMs: 60_000, now: () => t });
    fake.failNext(503, 503);
    const before = fake.queries.length;
    await expect(c.search('a', 5)).rejects.toThrow(/HTTP 503/);
    await expect(c.search('b', 5)).rejects.toThrow(/HTTP 503/);
    // Open: a hundred searches cost no request and no wait.
    const refused = await Promise.allSettled(Array.from({ length: 100 }, () => c.search('c', 5)));
    expect(
      refused.every(
        (r) =>
          r.status === 'rejected' && /^circuit open: Semantic Scholar failed 2 times/.test(String(r.reason.message)),
      ),
    ).toBe(true);
    expect(fake.queries.length - before).toBe(2);
    // After the cool-down one trial goes out; it succeeds and the circuit closes.
    t += 60_001;
    expect(await c.search('d', 5)).toHaveLength(2);
    expect(await c.search('e', 5)).toHaveLength(2);
    expect(fake.queries.length - before).toBe(4);
  });

  it('is not tripped by requests the service rejects as bad (4xx)', async () => {
    const c = client({ retries: 0, breakerFailures: 2 });
    fake.failNext(400, 400, 400);
    for (let i = 0; i < 3; i++) await expect(c.search('x', 5)).rejects.toThrow(/answered HTTP 400/);
    expect(await c.search('y', 5)).toHaveLength(2);
  });

  it('reopens when the trial fails; a trial whose caller gave up still runs, and its success closes it', async () => {
    let t = 0;
    const c = client({ retries: 0, breakerFailures: 1, breakerCooldownMs: 1000, now: () => t });
    fake.failNext(503);
    await expect(c.search('a', 5)).rejects.toThrow(/HTTP 503/);
    t = 1001;
    fake.failNext(503);
    await expect(c.search('trial', 5)).rejects.toThrow(/HTTP 503/);
    await expect(c.search('still open', 5)).rejects.toThrow(/^circuit open/);
    t = 2002;
    const aborted = new AbortController();
    aborted.abort();
    await expect(c.search('cancelled trial', 5, aborted.signal)).rejects.toThrow();
    await expect(c.search('meanwhile', 5)).rejects.toThrow(/^circuit open/); // the trial is in flight
    expect(await c.search('cancelled trial', 5)).toHaveLength(2); // joins the trial in flight
    expect(await c.search('closed again', 5)).toHaveLength(2);
  });
});

describe('a long rate-limit queue', () => {
  it('answers ScholarBusyError with the wait, without a request or a place in the queue', async () => {
    const c = client({ requestsPerSecond: 1, maxQueueWaitMs: 500 });
    const before = fake.queries.length;
    await c.search('first', 5);
    const err = await c.search('second', 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScholarBusyError);
    expect((err as ScholarBusyError).retryAfterMs).toBeGreaterThan(500);
    expect(fake.queries.length - before).toBe(1);
  });
});

describe('identical searches at once', () => {
  it('share one request, and a caller that gives up does not cancel it for the others', async () => {
    const c = client();
    const before = fake.queries.length;
    const leaving = new AbortController();
    const [a, b, gone] = await Promise.allSettled([
      c.search('same', 5),
      c.search('same', 5),
      c.search('same', 5, leaving.signal),
      Promise.resolve().then(() => leaving.abort()),
    ]);
    expect(a).toMatchObject({ status: 'fulfilled' });
    expect(b).toMatchObject({ status: 'fulfilled' });
    expect(gone!.status).toBe('rejected');
    expect(fake.queries.length - before).toBe(1);
    await c.search('same', 5); // finished searches are not kept: the next one asks again (Postgres caches)
    expect(fake.queries.length - before).toBe(2);
  });
});

describe('createRateLimiter', () => {
  it('spaces calls 1/rps apart', async () => {
    const waits: number[] = [];
    const acquire = createRateLimiter(2, async (ms) => {
      waits.push(ms);
    });
    await acquire();
    await acquire();
    await acquire();
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThan(400);
    expect(waits[1]).toBeGreaterThan(900);
  });
});

describe('a search every caller gave up on', () => {
  it('fails quietly: its failure is no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const c = client({ retries: 0 });
      fake.failNext(503);
      const gone = new AbortController();
      gone.abort();
      await expect(c.search('nobody waits', 5, gone.signal)).rejects.toThrow();
      // The shared request still runs to its failure; give it, and Node's rejection tracking, time to settle.
      await new Promise((r) => setTimeout(r, 300));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});

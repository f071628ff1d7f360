import { createRateLimiter, createScholarClient, ScholarUnavailableError } from '../../src/clients/scholar';
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

// A local stand-in for the Semantic Scholar Graph API's /paper/search (no network here).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeScholar {
  baseUrl: string;
  queries: string[];
  /** Status codes to answer with before answering normally again. */
  failNext(...statuses: number[]): void;
  close(): Promise<void>;
}

export async function startFakeScholar(): Promise<FakeScholar> {
  const queries: string[] = [];
  const failures: number[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    queries.push(url.searchParams.get('query') ?? '');
    const fail = failures.shift();
    if (fail) {
      res.writeHead(fail, fail === 429 ? { 'retry-after': '0' } : {}).end('{}');
      return;
    }
    const q = url.searchParams.get('query') ?? '';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        total: 2,
        data: [
          {
            paperId: `p-${q.length}-1`,
            title: `Related to ${q}`,
            abstract: 'An abstract.',
            year: 2021,
            url: null,
            citationCount: 3,
            authors: [{ name: 'A. Author' }],
          },
          {
            paperId: 'p-shared',
            title: 'A shared classic',
            abstract: null,
            year: 2015,
            url: null,
            citationCount: 900,
            authors: [],
          },
        ],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/graph/v1`,
    queries,
    failNext: (...s) => {
      failures.push(...s);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

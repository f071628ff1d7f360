// API latency under load, as ratios against an idle floor measured in the same run:
//  (a) /healthz with nothing else going on (the floor);
//  (b) /healthz while 200 Server-Sent Event clients follow a run (one shared poller behind them);
//  (c) /healthz while 1 MB pathological Markdown papers are uploaded back to back (parsed in worker threads);
//  (d) the old heading regex on one 2 KB line against today's scanner on 1 MB, in this process.
// Usage: npm run bench:api [-- --clients 200 --probes 400]
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { markdownHeading } from '../src/papers/sections';
import { freePort } from '../src/stack/processes';
import { SAMPLE_PAPER } from '../test/support/api';
import { startFakeModel } from '../test/support/fake-model';
import { arg, call, fmt, sleep, startStack, stopStack, TOKEN, untilStatus } from './stack';

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function probe(port: number, n: number): Promise<{ p50: number; p99: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    await res.arrayBuffer();
    times.push(performance.now() - t0);
    await sleep(5);
  }
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: Math.max(...times) };
}

/** About 1 MB of Markdown that made the old regexes backtrack: long headings of spaces, trailing blanks. */
function pathologicalPaper(): string {
  const heading = `# a${' '.repeat(150_000)}!a`;
  const blanks = `x${' \t'.repeat(75_000)}y`;
  return [
    '# Hostile',
    ...Array.from({ length: 4 }, () => heading),
    ...Array.from({ length: 3 }, () => blanks),
    'end',
  ].join('\n');
}

async function main(): Promise<void> {
  const clients = arg('clients', 200);
  const probes = arg('probes', 400);
  const model = await startFakeModel();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-api-'));
  const port = await freePort();
  const env = {
    MLR_MODEL: 'fake',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'x',
    SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/graph/v1',
    MLR_S2_RETRIES: '0',
    MLR_SSE_MAX_PER_USER: String(clients + 10),
    MLR_RATE_LIMIT_PER_MINUTE: '100000',
  };
  const { stack } = await startStack(dataDir, port, env);
  const streams: http.ClientRequest[] = [];
  try {
    const floor = await probe(port, probes);
    console.log(
      `(a) /healthz idle (floor): p50 ${floor.p50.toFixed(2)} ms, p99 ${floor.p99.toFixed(2)} ms, max ${floor.max.toFixed(1)} ms`,
    );

    const paper = await call(port, 'POST', '/v1/papers', { content: SAMPLE_PAPER, format: 'markdown' });
    const run = await call(port, 'POST', '/v1/runs', { paperId: paper.id, ideaCount: 1, until: 'approved' });
    await untilStatus(port, run.id, 'awaiting_approval');
    let opened = 0;
    let received = 0;
    await Promise.all(
      Array.from(
        { length: clients },
        () =>
          new Promise<void>((resolve, reject) => {
            const req = http.get(
              `http://127.0.0.1:${port}/v1/runs/${run.id}/events`,
              { headers: { authorization: `Bearer ${TOKEN}` } },
              (res) => {
                if (res.statusCode === 200) opened++;
                res.on('data', (d: Buffer) => {
                  received += d.length;
                });
                res.on('error', () => undefined);
                resolve();
              },
            );
            req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
            streams.push(req);
          }),
      ),
    );
    await sleep(1000);
    const sse = await probe(port, probes);
    console.log(
      `(b) /healthz with ${opened} SSE clients open (${fmt(received / 1024)} KB delivered): p50 ${sse.p50.toFixed(2)} ms, ` +
        `p99 ${sse.p99.toFixed(2)} ms (${(sse.p99 / floor.p99).toFixed(2)}× floor), max ${sse.max.toFixed(1)} ms`,
    );

    const hostile = pathologicalPaper();
    let uploads = 0;
    let statuses = new Set<number>();
    let stop = false;
    const uploader = (async () => {
      while (!stop) {
        const res = await fetch(`http://127.0.0.1:${port}/v1/papers`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ content: `${hostile}\n${uploads}`, format: 'markdown' }),
        });
        await res.arrayBuffer();
        statuses = statuses.add(res.status);
        uploads++;
      }
    })();
    const md = await probe(port, probes);
    stop = true;
    await uploader;
    console.log(
      `(c) /healthz while ${uploads} uploads of ${(Buffer.byteLength(hostile) / 1e6).toFixed(2)} MB pathological Markdown ran back to back ` +
        `(answers ${[...statuses].join(', ')}), SSE clients still open: p50 ${md.p50.toFixed(2)} ms, p99 ${md.p99.toFixed(2)} ms ` +
        `(${(md.p99 / floor.p99).toFixed(2)}× floor), max ${md.max.toFixed(1)} ms`,
    );

    const OLD = /^#{1,6}\s+(.+?)\s*#*\s*$/;
    const small = `# a${' '.repeat(2000)}!a`;
    let t0 = performance.now();
    OLD.exec(small);
    const old = performance.now() - t0;
    const big = `# a${' '.repeat(1_000_000)}!a`;
    t0 = performance.now();
    markdownHeading(big);
    const now = performance.now() - t0;
    console.log(
      `(d) heading of a 2 KB line with the old regex: ${fmt(old)} ms; of a 1 MB line with markdownHeading: ${now.toFixed(2)} ms`,
    );
  } finally {
    for (const s of streams) s.destroy();
    await stopStack(stack);
    await model.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

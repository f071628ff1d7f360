// Benchmarks of the embedded stack as `npm start` runs it, with an instant fake model:
//  (a) start-up to /readyz on a warm data directory;
//  (b) submit → awaiting_approval, one run at a time: the orchestration overhead;
//  (c) 100 runs submitted at once, all to awaiting_approval: wall time and the process's RSS.
// Usage: npm run bench [-- --runs 100 --sequential 20]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/stack/processes';
import { arg, call, fmt, rssMb, sleep, startStack, stats, stopStack, untilStatus } from './stack';
import { startFakeModel } from '../test/support/fake-model';
import { startFakeScholar } from '../test/support/fake-scholar';
import { SAMPLE_PAPER } from '../test/support/api';

async function main(): Promise<void> {
  const model = await startFakeModel();
  const scholar = await startFakeScholar();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-'));
  const port = await freePort();
  const env = {
    MLR_MODEL: 'fake',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'x',
    SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl,
    MLR_S2_RPS: '1000',
  };
  try {
    const cold = await startStack(dataDir, port, env);
    await stopStack(cold.stack);
    const warm = await startStack(dataDir, port, env);
    console.log(`(a) npm start → /readyz: cold (fresh data dir) ${fmt(cold.ms)} ms, warm ${fmt(warm.ms)} ms`);

    const { port: p, child } = warm.stack;
    const paper = await call(p, 'POST', '/v1/papers', { content: SAMPLE_PAPER, format: 'markdown' });
    const sequential = arg('sequential', 20);
    const times: number[] = [];
    for (let i = 0; i < sequential; i++) {
      const t0 = performance.now();
      const run = await call(p, 'POST', '/v1/runs', { paperId: paper.id, ideaCount: 3 });
      await untilStatus(p, run.id, 'awaiting_approval');
      times.push(performance.now() - t0);
    }
    const s = stats(times);
    console.log(
      `(b) submit → awaiting_approval, ${sequential} runs one at a time, instant model (3 model calls, 1 retrieval, 5 status writes each): ` +
        `mean ${fmt(s.mean)} ms, p50 ${fmt(s.p50)} ms, p95 ${fmt(s.p95)} ms, max ${fmt(s.max)} ms`,
    );

    const n = arg('runs', 100);
    const batchPaper = await call(p, 'POST', '/v1/papers', {
      content: `${SAMPLE_PAPER}\n(batch ${Date.now()})`,
      format: 'markdown',
    });
    const before = rssMb(child.pid!);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: n }, () => call(p, 'POST', '/v1/runs', { paperId: batchPaper.id, ideaCount: 3 })),
    );
    const submitted = performance.now() - t0;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMb(child.pid!).rss);
    }, 100);
    // Counts every page (the list is paged by 100), every 250 ms, so the benchmark's own polling does not load
    // the stack it measures.
    for (;;) {
      let waiting = 0;
      let cursor: string | null = null;
      do {
        const page = (await call(
          p,
          'GET',
          `/v1/runs?paperId=${batchPaper.id}&status=awaiting_approval&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        )) as unknown as { items: unknown[]; nextCursor: string | null };
        waiting += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
      if (waiting >= n) break;
      await sleep(250);
    }
    clearInterval(sampler);
    const wall = performance.now() - t0;
    const after = rssMb(child.pid!);
    console.log(
      `(c) ${n} runs at once → all awaiting_approval: wall ${fmt(wall)} ms (${(n / (wall / 1000)).toFixed(1)} runs/s; all submitted after ${fmt(submitted)} ms); ` +
        `stack process RSS before ${fmt(before.rss)} MB, peak sampled ${fmt(peakRss)} MB, after ${fmt(after.rss)} MB, high-water ${fmt(after.peak)} MB ` +
        '(API + worker in one process; Postgres and Temporal are separate processes)',
    );
    await stopStack(warm.stack);
  } finally {
    await model.close();
    await scholar.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// Benchmarks of the embedded stack as `npm start` runs it, with an instant fake model:
//  (a) start-up to /readyz on a warm data directory;
//  (b) submit → awaiting_approval, one run at a time: the orchestration overhead;
//  (c) 100 runs submitted at once, all to awaiting_approval: wall time and the process's RSS;
//  (d) with --workers K: (c) again with K workers (K-1 more processes, as `npm run worker`), then with 1 again.
// Usage: npm run bench [-- --runs 100 --sequential 20 --workers 3]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../src/stack/processes';
import {
  arg,
  call,
  fmt,
  rssMb,
  sleep,
  startStack,
  startWorker,
  stats,
  stopStack,
  stopWorker,
  untilStatus,
} from './stack';
import { startFakeModel } from '../test/support/fake-model';
import { startFakeScholar } from '../test/support/fake-scholar';
import { SAMPLE_PAPER } from '../test/support/api';

async function main(): Promise<void> {
  const model = await startFakeModel();
  const scholar = await startFakeScholar();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-'));
  const port = await freePort();
  const pgPort = await freePort();
  const temporalPort = await freePort();
  const env = {
    MLR_MODEL: 'fake',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'x',
    SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl,
    MLR_S2_RPS: '1000',
  };
  try {
    const ports = { MLR_PG_PORT: String(pgPort), MLR_TEMPORAL_PORT: String(temporalPort) };
    const cold = await startStack(dataDir, port, { ...env, ...ports });
    await stopStack(cold.stack);
    const warm = await startStack(dataDir, port, { ...env, ...ports });
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
    const workers = arg('workers', 1);
    const batch = async (label: string, pids: number[]) => {
      const r = await runsAtOnce(p, n, pids);
      const perProcess = r.peaks.map((mb) => fmt(mb)).join(' / ');
      console.log(
        `(c) ${label}: ${n} runs at once → all awaiting_approval: wall ${fmt(r.wall)} ms ` +
          `(${(n / (r.wall / 1000)).toFixed(1)} runs/s; all submitted after ${fmt(r.submitted)} ms); ` +
          `peak RSS sampled per process ${perProcess} MB (the first is API + worker in one process; ` +
          'Postgres and Temporal are separate processes)',
      );
      return n / (r.wall / 1000);
    };
    const url = `postgres://postgres:${encodeURIComponent(
      fs.readFileSync(path.join(dataDir, 'postgres', 'password'), 'utf8').trim(),
    )}@127.0.0.1:${pgPort}/mlr`;
    const before = await pgCounters(url);
    const one = await batch('1 worker', [child.pid!]);
    const after = await pgCounters(url);
    console.log(
      `    Postgres per run: ${((after.commits - before.commits) / n).toFixed(1)} transactions, ` +
        Object.entries(after.writes)
          .map(([t, w]) => [t, (w - (before.writes[t] ?? 0)) / n] as const)
          .filter(([, w]) => w > 0)
          .sort((a, b) => b[1] - a[1])
          .map(([t, w]) => `${t} ${w.toFixed(1)}`)
          .join(', ') +
        ' rows written',
    );
    if (workers > 1) {
      // More workers on the same Postgres and Temporal, each with its own data directory, as `npm run worker`.
      const extra = await Promise.all(
        Array.from({ length: workers - 1 }, (_, i) =>
          startWorker({ ...env, DATABASE_URL: url, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` }, `${dataDir}-w${i}`),
        ),
      );
      const many = await batch(`${workers} workers`, [child.pid!, ...extra.map((w) => w.pid!)]);
      await Promise.all(extra.map((w) => stopWorker(w)));
      const again = await batch('1 worker again', [child.pid!]);
      console.log(
        `(d) throughput of ${workers} workers against 1 (the mean of the runs before and after): ` +
          `${(many / ((one + again) / 2)).toFixed(2)}× on ${os.cpus().length} cores`,
      );
    }
    await stopStack(warm.stack);
  } finally {
    await model.close();
    await scholar.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    for (let i = 0; i < arg('workers', 1); i++) fs.rmSync(`${dataDir}-w${i}`, { recursive: true, force: true });
  }
}

/** Postgres's own counters: committed transactions, and rows inserted, updated or deleted per table. */
async function pgCounters(url: string) {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    // The statistics collector reports with a delay; this forces this backend's view to be current.
    await pg.query('SELECT pg_stat_clear_snapshot()');
    const db = await pg.query(`SELECT xact_commit::int AS n FROM pg_stat_database WHERE datname = current_database()`);
    const t = await pg.query(`SELECT relname, (n_tup_ins + n_tup_upd + n_tup_del)::int AS w FROM pg_stat_user_tables`);
    const writes: Record<string, number> = Object.fromEntries(t.rows.map((r) => [r.relname, r.w]));
    return { commits: db.rows[0].n as number, writes };
  } finally {
    await pg.end();
  }
}

/** Submits `n` runs of a fresh paper at once and waits until all await approval; samples the given processes' RSS. */
async function runsAtOnce(p: number, n: number, pids: number[]) {
  const paper = await call(p, 'POST', '/v1/papers', {
    content: `${SAMPLE_PAPER}\n(batch ${Date.now()})`,
    format: 'markdown',
  });
  const peaks = pids.map((pid) => rssMb(pid).rss);
  const sampler = setInterval(() => {
    pids.forEach((pid, i) => (peaks[i] = Math.max(peaks[i]!, rssMb(pid).rss)));
  }, 100);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, () => call(p, 'POST', '/v1/runs', { paperId: paper.id, ideaCount: 3 })));
  const submitted = performance.now() - t0;
  // Counts every page (the list is paged by 100), every 250 ms, so the benchmark's own polling does not load
  // the stack it measures.
  for (;;) {
    let waiting = 0;
    let cursor: string | null = null;
    do {
      const page = (await call(
        p,
        'GET',
        `/v1/runs?paperId=${paper.id}&status=awaiting_approval&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      )) as unknown as { items: unknown[]; nextCursor: string | null };
      waiting += page.items.length;
      cursor = page.nextCursor;
    } while (cursor);
    if (waiting >= n) break;
    await sleep(250);
  }
  clearInterval(sampler);
  return { wall: performance.now() - t0, submitted, peaks };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

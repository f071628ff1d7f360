// Benchmarks of the embedded stack as `npm start` runs it, with an instant fake model:
//  (a) start-up to /readyz on a warm data directory;
//  (b) submit → awaiting_approval, one run at a time: the orchestration overhead;
//  (c) 100 runs submitted at once, all to awaiting_approval: wall time and the process's RSS.
// Usage: npm run bench [-- --runs 100 --sequential 20]
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/stack/processes';
import { startFakeModel } from '../test/support/fake-model';
import { startFakeScholar } from '../test/support/fake-scholar';
import { SAMPLE_PAPER } from '../test/support/api';

const ROOT = path.resolve(__dirname, '..');
const TOKEN = 'bench-token';
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Stack { child: ChildProcess; port: number }

async function startStack(dataDir: string, port: number, env: Record<string, string>): Promise<{ stack: Stack; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src/main.ts')], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    env: { PATH: process.env.PATH, MLR_DATA_DIR: dataDir, PORT: String(port), MLR_API_TOKENS: TOKEN, LOG_LEVEL: 'warn', MLR_TEMPORAL_UI: 'false', ...env },
  });
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) return { stack: { child, port }, ms: performance.now() - started };
    if (child.exitCode !== null) throw new Error('stack exited during start-up');
    await sleep(20);
  }
}

async function stopStack(s: Stack): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

async function call(port: number, method: string, url: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (await res.json()) as { id: string; status: string };
}

async function untilStatus(port: number, id: string, status: string): Promise<void> {
  for (;;) {
    const run = await call(port, 'GET', `/v1/runs/${id}`);
    if (run.status === status) return;
    if (run.status === 'failed') throw new Error(`run ${id} failed`);
    await sleep(10);
  }
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, p50: s[Math.floor(s.length / 2)]!, p95: s[Math.floor(s.length * 0.95)]!, max: s[s.length - 1]! };
};
const fmt = (n: number) => n.toFixed(0);

async function main(): Promise<void> {
  const model = await startFakeModel();
  const scholar = await startFakeScholar();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-'));
  const port = await freePort();
  const env = { MLR_MODEL: 'fake', OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'x', SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl, MLR_S2_RPS: '1000' };
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
    console.log(`(b) submit → awaiting_approval, ${sequential} runs one at a time, instant model (3 model calls, 1 retrieval, 5 status writes each): `
      + `mean ${fmt(s.mean)} ms, p50 ${fmt(s.p50)} ms, p95 ${fmt(s.p95)} ms, max ${fmt(s.max)} ms`);

    const n = arg('runs', 100);
    const batchPaper = await call(p, 'POST', '/v1/papers', { content: `${SAMPLE_PAPER}\n(batch ${Date.now()})`, format: 'markdown' });
    const before = rssMb(child.pid!);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => call(p, 'POST', '/v1/runs', { paperId: batchPaper.id, ideaCount: 3 })));
    const submitted = performance.now() - t0;
    let peakRss = before.rss;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, rssMb(child.pid!).rss); }, 100);
    // One list query every 100 ms, so the benchmark's own polling does not load the stack it measures.
    for (;;) {
      const page = (await call(p, 'GET', `/v1/runs?paperId=${batchPaper.id}&status=awaiting_approval&limit=100`)) as unknown as { items: unknown[] };
      if (page.items.length >= n) break;
      await sleep(100);
    }
    clearInterval(sampler);
    const wall = performance.now() - t0;
    const after = rssMb(child.pid!);
    console.log(`(c) ${n} runs at once → all awaiting_approval: wall ${fmt(wall)} ms (${(n / (wall / 1000)).toFixed(1)} runs/s; all submitted after ${fmt(submitted)} ms); `
      + `stack process RSS before ${fmt(before.rss)} MB, peak sampled ${fmt(peakRss)} MB, after ${fmt(after.rss)} MB, high-water ${fmt(after.peak)} MB `
      + '(API + worker in one process; Postgres and Temporal are separate processes)');
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

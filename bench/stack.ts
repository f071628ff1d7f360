// Helpers shared by the benchmarks: the embedded stack as `npm start` runs it, and its API.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const TOKEN = 'bench-token-0123456789';
export const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The heap ceiling `npm start` gives the service (package.json), so the benchmarks measure what users run. */
export function heapFlag(): string {
  const start = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } })
    .scripts.start;
  const fallback = /--max-old-space-size=\$\{MLR_HEAP_MB:-(\d+)\}/.exec(start)?.[1];
  if (!fallback) throw new Error('package.json start no longer sets --max-old-space-size');
  return `--max-old-space-size=${process.env.MLR_HEAP_MB ?? fallback}`;
}

export interface Stack {
  child: ChildProcess;
  port: number;
}

export async function startStack(
  dataDir: string,
  port: number,
  env: Record<string, string>,
): Promise<{ stack: Stack; ms: number }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [heapFlag(), '-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src/main.ts')],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH,
        MLR_DATA_DIR: dataDir,
        PORT: String(port),
        MLR_API_TOKENS: TOKEN,
        LOG_LEVEL: 'warn',
        MLR_TEMPORAL_UI: 'false',
        // The benchmarks load the stack on purpose: the per-user limits would measure themselves instead.
        MLR_RATE_LIMIT_PER_MINUTE: '1000000',
        MLR_MAX_ACTIVE_RUNS_PER_USER: '100000',
        // To profile the stack under a benchmark: BENCH_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
        ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
        ...env,
        // Any MLR_* setting given to the benchmark reaches the stack it measures, over the benchmark's own.
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MLR_'))),
      },
    },
  );
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { stack: { child, port }, ms: performance.now() - started };
    if (child.exitCode !== null) throw new Error('stack exited during start-up');
    await sleep(20);
  }
}

/** A standalone worker (`src/worker.ts`) with its own data directory; resolves once it polls. */
export async function startWorker(env: Record<string, string>, dataDir: string): Promise<ChildProcess> {
  fs.mkdirSync(dataDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [heapFlag(), '-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src/worker.ts')],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH, MLR_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('worker polling')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} during start-up`)));
  });
  child.stdout!.resume();
  return child;
}

export async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export async function stopStack(s: Stack): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

export async function call(port: number, method: string, url: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (await res.json()) as { id: string; status: string };
}

export async function untilStatus(port: number, id: string, status: string): Promise<void> {
  for (;;) {
    const run = await call(port, 'GET', `/v1/runs/${id}`);
    if (run.status === status) return;
    if (run.status === 'failed') throw new Error(`run ${id} failed`);
    await sleep(10);
  }
}

export function rssMb(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    p50: s[Math.floor(s.length / 2)]!,
    p95: s[Math.floor(s.length * 0.95)]!,
    max: s[s.length - 1]!,
  };
};
export const fmt = (n: number) => n.toFixed(0);

/** A JSON request to the stack's API as the bench user; a 4xx or 5xx answer throws with its body. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function request(port: number, method: string, url: string, body?: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json: unknown = await res.json();
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

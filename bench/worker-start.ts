// How long a worker takes from process start to polling its task queue: the production build (node
// dist/worker.js, workflows prebundled) against the development worker (ts-node, bundling at start), in
// one run against the same Postgres and Temporal. Needs `npm run build` first.
// Usage: npm run bench:worker-start [-- --n 3]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/stack/postgres';
import { startTemporalDevServer } from '../src/stack/temporal';
import { arg, ROOT, stats } from './stack';

function timeToPolling(args: string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('worker polling')) {
        const ms = performance.now() - started;
        child.kill('SIGTERM');
        child.once('exit', () => resolve(ms));
      }
    });
    child.once('exit', (code) => code !== null && code !== 0 && reject(new Error(`worker exited ${code}`)));
  });
}

async function main(): Promise<void> {
  const n = arg('n', 3);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'workflow-bundle.js'))) throw new Error('run `npm run build` first');
  const dir = path.join(ROOT, '.test-data', 'bench-worker-start');
  fs.rmSync(dir, { recursive: true, force: true });
  const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), database: 'mlr' });
  const temporal = await startTemporalDevServer({
    binary: path.join(ROOT, '.venv', 'bin', 'temporal'),
    stateDir: path.join(dir, 'temporal'),
    ui: false,
    namespace: 'default',
  });
  const env = { DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, MLR_DATA_DIR: path.join(dir, 'data') };
  try {
    const prod: number[] = [];
    const dev: number[] = [];
    for (let i = 0; i < n; i++) {
      prod.push(await timeToPolling([path.join(ROOT, 'dist', 'worker.js')], env));
      dev.push(
        await timeToPolling(['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src', 'worker.ts')], env),
      );
    }
    const p = stats(prod).p50;
    const d = stats(dev).p50;
    console.log(`production worker (dist/, prebundled): p50 ${p.toFixed(0)} ms to polling (floor), n=${n}`);
    console.log(
      `development worker (ts-node, bundles at start): p50 ${d.toFixed(0)} ms (${(d / p).toFixed(1)}× floor)`,
    );
  } finally {
    await temporal.stop();
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

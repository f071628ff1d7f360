// Workflows run from a webpack bundle. From source (`npm start`, `npm run worker`), it is built in a short-lived
// child process and kept in the data directory under the hash of the sources: the service never holds webpack's
// memory (about 120 MB of RSS that V8 does not give back), and a warm start skips bundling altogether.
// `npm run build` bundles once into dist/ instead, and a compiled service never gets here.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const SRC = __dirname;

/** Every source file under src/ (the bundle's inputs are a subset), hashed in a stable order. */
function sourceHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.[cm]?[jt]s$/.test(e.name)) h.update(path.relative(SRC, p)).update('\0').update(fs.readFileSync(p));
    }
  };
  walk(SRC);
  return h.digest('hex').slice(0, 16);
}

/** The path of a bundle of src/workflows for these sources, built (in a child process) if missing. */
export function cachedWorkflowBundle(dataDir: string): string {
  const dir = path.join(dataDir, 'cache');
  const file = path.join(dir, `workflows-${sourceHash()}.js`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  // Written beside its final name and renamed: a worker sharing the directory never reads half a bundle.
  const partial = `${file}.${process.pid}.partial`;
  // From source this file is TypeScript, whoever loaded it (ts-node, jest): the child registers ts-node itself.
  const register = __filename.endsWith('.ts') ? ['-r', require.resolve('ts-node/register/transpile-only')] : [];
  const child = spawnSync(process.execPath, [...register, __filename, partial], {
    cwd: path.resolve(SRC, '..'),
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (child.status !== 0) {
    fs.rmSync(partial, { force: true });
    throw new Error(`bundling the workflows failed: ${child.stderr.trim().split('\n').slice(-5).join('\n')}`);
  }
  fs.renameSync(partial, file);
  // Bundles of older sources are of no further use.
  for (const old of fs.readdirSync(dir)) {
    if (/^workflows-[0-9a-f]{16}\.js$/.test(old) && path.join(dir, old) !== file) fs.rmSync(path.join(dir, old));
  }
  return file;
}

async function bundleTo(out: string): Promise<void> {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const quiet = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: (m) => console.error(m) },
  });
  fs.writeFileSync(out, code);
}

if (require.main === module) {
  bundleTo(process.argv[2]!).catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  });
}

// `npm run build`, after tsc: copies what the compiled service reads at run time (SQL migrations), bundles
// the web console, and bundles the workflows once, so a service started from dist/ loads them without
// bundling (no ts-node, no webpack or esbuild at start-up).
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeConsole } from '../src/api/console-assets';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

async function main(): Promise<void> {
  fs.cpSync(path.join(ROOT, 'src', 'db', 'migrations'), path.join(DIST, 'db', 'migrations'), { recursive: true });
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(DIST, 'workflows', 'index.js'),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (m: string) => console.warn(m),
      error: (m: string) => console.error(m),
    },
  });
  fs.writeFileSync(path.join(DIST, 'workflow-bundle.js'), code);
  // The web console, bundled once: a service started from dist/ serves these files and never loads esbuild.
  const assets = await writeConsole(path.join(DIST, 'console'));
  console.log(
    `[build] dist/ ready: ${path.relative(ROOT, path.join(DIST, 'workflow-bundle.js'))} (${code.length} bytes), console ${assets.version}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

// What the Hub adds to a run, as ratios in one run, against the stand-in Hub (as a mirror):
//  (a) an execution of a script that does nothing, in bubblewrap, without Hub repositories (the floor);
//  (b) the same execution with one repository mounted read-only and the offline variables set;
//  (c) an execution that loads the repository offline (huggingface_hub's snapshot_download, reading its files);
//  (d) fetching the repository cold (a 20 MB model, pinned commit) through python/hub.py, and (e) the warm check
//      a second worker's view makes when its cache already holds the commit.
// Usage: npm run bench:hub [-- --n 10]
import fs from 'node:fs';
import path from 'node:path';
import { createHubClient } from '../src/clients/hub';
import { createFsArtifactStore } from '../src/experiments/artifacts';
import { createLocalExecutor } from '../src/experiments/executor/local';
import { planSandbox, pythonPaths } from '../src/experiments/executor/sandbox';
import { startFakeHub } from '../test/support/fake-hub';
import { execSpec, freshWorkspace, PYTHON, preparedTask, SANDBOX, TEST_INPUTS } from '../test/support/experiments';
import { TEST_DATA } from '../test/support/paths';
import { arg, stats } from './stack';

async function main(): Promise<void> {
  const n = arg('n', 10);
  const hubServer = await startFakeHub();
  const id = 'bench/model-20mb';
  const { sha } = hubServer.add({
    kind: 'model',
    id,
    licence: 'mit',
    files: { 'config.json': '{"hidden": 8}', 'model.safetensors': Buffer.alloc(20_000_000, 7) },
  });
  const home = path.join(TEST_DATA, 'bench-hub');
  fs.rmSync(home, { recursive: true, force: true });
  const hub = createHubClient({ python: PYTHON, home, endpoint: hubServer.endpoint, timeoutMs: 60_000 });
  const time = async (fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const cold = await time(() => hub.fetch('model', id, sha));
  const warm: number[] = [];
  const snapshot = path.join(home, 'hub', 'models--bench--model-20mb', 'snapshots', sha);
  for (let i = 0; i < n; i++) warm.push(await time(async () => fs.existsSync(snapshot)));
  // The run's view, as createHubAccess().view builds it.
  const viewHome = path.join(home, 'views', 'bench-run');
  const own = path.join(viewHome, 'hub', 'models--bench--model-20mb');
  fs.mkdirSync(path.join(own, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(own, 'refs', 'main'), sha);
  for (const sub of ['snapshots', 'blobs'])
    fs.symlinkSync(path.join(home, 'hub', 'models--bench--model-20mb', sub), path.join(own, sub));
  const view = { home: viewHome, folders: [viewHome, path.join(home, 'hub', 'models--bench--model-20mb')] };

  const prepared = await preparedTask();
  const store = createFsArtifactStore(path.join(TEST_DATA, 'bench-artifacts'));
  const readOnly = await pythonPaths(PYTHON);
  const plan = await planSandbox('bwrap');
  const executor = (withHub: boolean) =>
    createLocalExecutor({
      python: PYTHON,
      inputs: withHub ? { ...TEST_INPUTS, hub: async () => view } : TEST_INPUTS,
      scratchDir: path.join(TEST_DATA, 'bench-executions'),
      sandboxScript: SANDBOX,
      store,
      isolationPrefix: [],
      stateDir: path.join(TEST_DATA, 'bench-executor'),
      sandbox: plan,
      readOnly,
    });
  const ws = freshWorkspace(prepared, 'bench-hub');
  ws.writeFile('noop.py', 'pass\n');
  ws.writeFile(
    'load.py',
    `import os\nfrom huggingface_hub import snapshot_download\np = snapshot_download("${id}")\n` +
      'assert len(open(os.path.join(p, "model.safetensors"), "rb").read()) == 20_000_000\n',
  );
  const runs = async (withHub: boolean, script: string) => {
    const ex = executor(withHub);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = await ex.execute(execSpec(prepared, ws, script, { seed: 0, logKey: `bench/hub-${script}-${i}.log` }));
      if (r.exitCode !== 0) throw new Error(`${script} failed: ${r.logTail}`);
      out.push(r.durationMs);
    }
    return stats(out).p50;
  };
  const floor = await runs(false, 'noop.py');
  const mounted = await runs(true, 'noop.py');
  const loading = await runs(true, 'load.py');
  const w = stats(warm).p50;
  console.log(`(a) no-op execution in bubblewrap, no Hub: p50 ${floor.toFixed(1)} ms (floor)`);
  console.log(
    `(b) the same with one repository mounted: p50 ${mounted.toFixed(1)} ms (${(mounted / floor).toFixed(2)}× floor)`,
  );
  console.log(
    `(c) loading the 20 MB model offline: p50 ${loading.toFixed(1)} ms (${(loading / floor).toFixed(2)}× floor)`,
  );
  console.log(
    `(d) cold fetch of the 20 MB model: ${cold.toFixed(0)} ms (${(cold / floor).toFixed(2)}× floor, once per worker)`,
  );
  console.log(`(e) warm cache check: p50 ${w.toFixed(3)} ms (${(w / floor).toFixed(4)}× floor)`);
  await hubServer.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

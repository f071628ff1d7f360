// What the sandbox costs per execution, as ratios in one run:
//  (a) bare `python -c pass` as a child process (the floor);
//  (b) the local executor without a sandbox (MLR_SANDBOX=none): limits, output capture;
//  (c) the local executor in bubblewrap.
// Each executor run executes a script that does nothing; its durationMs covers the execution alone (the
// scoring by eval.py, the same for both, comes after). Usage: npm run bench:sandbox [-- --n 20]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createFsArtifactStore } from '../src/experiments/artifacts';
import { createLocalExecutor } from '../src/experiments/executor/local';
import { planSandbox, pythonPaths } from '../src/experiments/executor/sandbox';
import { execSpec, freshWorkspace, PYTHON, preparedTask, SANDBOX, TEST_INPUTS } from '../test/support/experiments';
import { TEST_DATA } from '../test/support/paths';
import { arg, stats } from './stack';

async function main(): Promise<void> {
  const n = arg('n', 20);
  const prepared = await preparedTask();
  const store = createFsArtifactStore(path.join(TEST_DATA, 'bench-artifacts'));
  const readOnly = await pythonPaths(PYTHON);
  const time = async (fn: () => Promise<unknown> | unknown) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const bare: number[] = [];
  for (let i = 0; i < n; i++) bare.push(await time(() => execFileSync(PYTHON, ['-c', 'pass'])));
  const runs: Record<string, number[]> = {};
  for (const mode of ['none', 'bwrap'] as const) {
    const executor = createLocalExecutor({
      python: PYTHON,
      inputs: TEST_INPUTS,
      scratchDir: path.join(TEST_DATA, 'bench-executions'),
      sandboxScript: SANDBOX,
      store,
      isolationPrefix: [],
      stateDir: path.join(TEST_DATA, 'bench-executor'),
      sandbox: await planSandbox(mode),
      readOnly,
    });
    const ws = freshWorkspace(prepared, `bench-${mode}`);
    ws.writeFile('noop.py', 'pass\n');
    runs[mode] = [];
    for (let i = 0; i < n; i++) {
      const result = await executor.execute(
        execSpec(prepared, ws, 'noop.py', { seed: 0, logKey: `bench/${mode}-${i}.log` }),
      );
      runs[mode]!.push(result.durationMs);
    }
  }
  const floor = stats(bare).p50;
  const none = stats(runs.none!).p50;
  const sandboxed = stats(runs.bwrap!).p50;
  console.log(`(a) bare python -c pass: p50 ${floor.toFixed(1)} ms (floor)`);
  console.log(`(b) executor, MLR_SANDBOX=none: p50 ${none.toFixed(1)} ms (${(none / floor).toFixed(2)}× floor)`);
  console.log(
    `(c) executor in bubblewrap: p50 ${sandboxed.toFixed(1)} ms (${(sandboxed / floor).toFixed(2)}× floor; ` +
      `${(sandboxed - none).toFixed(1)} ms more than without the sandbox)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

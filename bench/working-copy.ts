// What it costs that a run's working copy lives in the object store, not on one worker's disk, as ratios in one
// run, on a 50 MB working copy (the breast-cancer starter plus 50 MB of features the agent's code wrote), with
// a real S3 server (versitygw):
//  (a) per step: today's code snapshot alone (the floor: what a step paid before), against the snapshot plus
//      the committed state (hash the copy, upload what changed: one edited script);
//  (b) the first commit of the 50 MB copy (everything uploaded once);
//  (c) rebuilding the 50 MB copy on a worker that never held it, against a plain local copy of the same
//      tree (`cp -r`, the floor).
// Usage: npm run bench:working-copy [-- --n 10]
import fs from 'node:fs';
import path from 'node:path';
import { s3StoreFrom } from '../src/clients/stores';
import { loadConfig } from '../src/config';
import { carried, manifestOf, restoreWorkspace, workingState } from '../src/experiments/working-state';
import { Workspace } from '../src/experiments/workspace';
import { freshWorkspace, preparedTask } from '../test/support/experiments';
import { TEST_DATA } from '../test/support/paths';
import { startS3 } from '../test/support/s3';
import { arg, stats } from './stack';

const CAP = 256 * 1024 * 1024;

async function main(): Promise<void> {
  const n = arg('n', 10);
  const root = path.join(TEST_DATA, 'bench-working-copy');
  fs.rmSync(root, { recursive: true, force: true });
  const s3 = await startS3(root);
  try {
    const store = s3StoreFrom(loadConfig({ ...s3.env, MLR_API_TOKENS: 'bench-token-0123456789' }));
    await store.ensureBucket();
    const blobs = store.artifacts;
    const prepared = await preparedTask();
    const ws = freshWorkspace(prepared, 'bench-working-copy');
    for (let i = 0; i < 5; i++)
      fs.writeFileSync(path.join(ws.root, `features-${i}.npy`), Buffer.alloc(10 << 20, i + 1));
    const starter = workingState(new Workspace(prepared.envDir, prepared.readOnlyPatterns), CAP, false).files;
    const time = async (fn: () => Promise<unknown> | unknown) => {
      const t0 = performance.now();
      await fn();
      return performance.now() - t0;
    };
    const stored = new Set<string>();
    const commit = async () => {
      const state = workingState(ws, CAP);
      const { kept, upload } = carried(state, starter, CAP);
      for (const [sha, from] of upload) {
        if (stored.has(sha)) continue;
        const abs = from.kind === 'file' ? path.join(ws.root, from.name) : path.join(ws.backupDir(), from.name);
        await blobs.put(`blobs/${sha}`, await fs.promises.readFile(abs));
        stored.add(sha);
      }
      return kept;
    };
    const first = await time(commit);
    const floor: number[] = [];
    const shared: number[] = [];
    for (let i = 0; i < n; i++) {
      ws.writeFile('train.py', `${fs.readFileSync(path.join(prepared.envDir, 'train.py'), 'utf8')}\n# step ${i}\n`);
      floor.push(await time(() => ws.snapshot()));
      shared.push(await time(async () => (ws.snapshot(), await commit())));
    }
    const manifest = manifestOf(workingState(ws, CAP));
    const copies: number[] = [];
    const rebuilds: number[] = [];
    for (let i = 0; i < n; i++) {
      const dest = path.join(root, `copy-${i}`);
      copies.push(await time(() => fs.cpSync(ws.root, dest, { recursive: true })));
      fs.rmSync(dest, { recursive: true, force: true });
      const other = path.join(root, `rebuilt-${i}`);
      rebuilds.push(
        await time(() =>
          restoreWorkspace(
            path.join(other, 'ws'),
            path.join(other, 'harness'),
            prepared.envDir,
            prepared.readOnlyPatterns,
            manifest,
            (sha) => blobs.get(blobs.uri(`blobs/${sha}`)),
          ),
        ),
      );
      fs.rmSync(other, { recursive: true, force: true });
    }
    const f = stats(floor).p50;
    const s = stats(shared).p50;
    const c = stats(copies).p50;
    const r = stats(rebuilds).p50;
    const mb = Object.values(workingState(ws, CAP).files).reduce((a, x) => a + x.bytes, 0) / 2 ** 20;
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    console.log(`working copy: ${mb.toFixed(1)} MB`);
    console.log(`(a) per step: code snapshot alone p50 ${ms(f)} (floor);`);
    console.log(`    with the committed state p50 ${ms(s)} (${(s / f).toFixed(2)}× floor, +${ms(s - f)})`);
    console.log(`(b) first commit of the whole copy: ${ms(first)} (${(first / c).toFixed(2)}× a local cp -r)`);
    const ratio = (r / c).toFixed(2);
    console.log(`(c) rebuild on a fresh worker p50 ${ms(r)}; local cp -r p50 ${ms(c)} (floor): ${ratio}×`);
  } finally {
    await s3.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

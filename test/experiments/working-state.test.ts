// A working copy as data: what a commit carries within its cap, and a rebuild that equals the copy it came
// from (files, read-only data, backups), on a disk that never held it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Workspace } from '../../src/experiments/workspace';
import { carried, manifestOf, restoreWorkspace, stateHash, workingState } from '../../src/experiments/working-state';
import type { PreparedTask } from '../../src/tasks/library';
import { freshWorkspace, preparedTask } from '../support/experiments';
import { TEST_DATA } from '../support/paths';

let prepared: PreparedTask;
beforeAll(async () => {
  prepared = await preparedTask();
});

const starterOf = (p: PreparedTask) => workingState(new Workspace(p.envDir, p.readOnlyPatterns), 1 << 30, false).files;

describe('the working state of a copy', () => {
  it('carries what differs from the starter within the cap, and names what it leaves', () => {
    const ws = freshWorkspace(prepared, 'carry');
    fs.writeFileSync(path.join(ws.root, 'a.npy'), Buffer.alloc(600));
    fs.writeFileSync(path.join(ws.root, 'b.npy'), Buffer.alloc(600, 1));
    ws.writeFile('check.py', 'print(1)\n');
    fs.symlinkSync('train.py', path.join(ws.root, 'link.py'));
    // A FIFO would block whoever opened it: it is named, never read.
    execFileSync('mkfifo', [path.join(ws.root, 'pipe')]);
    const state = workingState(ws, 1000);
    expect(state.notRegular.sort()).toEqual(['link.py', 'pipe']);
    expect(Object.keys(state.files)).not.toContain('data/train.csv'); // read-only: never part of a state
    const { kept, upload, left } = carried(state, starterOf(prepared), 1000);
    // The starter's own files cost nothing; of the rest, what fits in path order.
    expect(left).toEqual(['b.npy']);
    expect(Object.keys(kept.files)).toEqual(expect.arrayContaining(['a.npy', 'check.py', 'train.py']));
    expect([...upload.values()].map((u) => u.name).sort()).toEqual(['a.npy', 'check.py']);
    // A file over the cap is not even read.
    fs.writeFileSync(path.join(ws.root, 'huge.bin'), '');
    fs.truncateSync(path.join(ws.root, 'huge.bin'), 2 ** 40);
    expect(workingState(ws, 1000).tooLarge).toEqual([{ path: 'huge.bin', bytes: 2 ** 40 }]);
  });

  it('rebuilds a copy on another disk that equals it, backups included, and undo works there', async () => {
    const ws = freshWorkspace(prepared, 'rebuild');
    ws.writeFile('train.py', 'print("v1")\n');
    ws.writeFile('train.py', 'print("v2")\n');
    ws.writeFile('notes/plan.md', '# plan\n');
    fs.rmSync(path.join(ws.root, 'data_description.txt'));
    const state = workingState(ws, 1 << 30);
    const blobs = new Map<string, Buffer>();
    for (const [rel, f] of Object.entries(state.files)) blobs.set(f.sha, fs.readFileSync(path.join(ws.root, rel)));
    for (const [name, f] of Object.entries(state.backups))
      blobs.set(f.sha, fs.readFileSync(path.join(ws.backupDir(), name)));
    const other = path.join(TEST_DATA, 'rebuilt', `${Date.now()}`);
    const copy = await restoreWorkspace(
      path.join(other, 'ws'),
      path.join(other, 'harness'),
      prepared.envDir,
      prepared.readOnlyPatterns,
      manifestOf(state),
      async (sha) => blobs.get(sha)!,
    );
    expect(workingState(copy, 1 << 30).hash).toBe(state.hash);
    expect(stateHash(manifestOf(state))).toBe(state.hash);
    expect(fs.existsSync(path.join(copy.root, 'data_description.txt'))).toBe(false);
    expect(fs.existsSync(path.join(copy.root, 'data', 'train.csv'))).toBe(true);
    // The newest backup first, on the new disk as on the old.
    expect(copy.undoEditScript('train.py')).toBe('print("v1")\n');
    expect(copy.undoEditScript('train.py')).toBe(fs.readFileSync(path.join(prepared.envDir, 'train.py'), 'utf8'));
  });

  it('refuses a stored state that names a path outside the copy or a read-only file', async () => {
    const other = path.join(TEST_DATA, 'rebuilt-bad', `${Date.now()}`);
    for (const files of [{ '../escape.py': 'x' }, { 'data/train.csv': 'x' }] as Array<Record<string, string>>) {
      await expect(
        restoreWorkspace(
          path.join(other, 'ws'),
          path.join(other, 'harness'),
          prepared.envDir,
          prepared.readOnlyPatterns,
          { files, backups: {} },
          async () => Buffer.from('x'),
        ),
      ).rejects.toThrow(/a stored state names/);
    }
  });
});

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ActionError, MAX_READ_BYTES, MAX_SNAPSHOT_FILE_BYTES, Workspace } from '../../src/experiments/workspace';
import type { PreparedTask } from '../../src/tasks/library';
import { freshWorkspace, HARNESS, preparedTask } from '../support/experiments';
import { TEST_DATA } from '../support/paths';

const harnessOf = (w: Workspace) => path.join(HARNESS, path.basename(w.root));

let prepared: PreparedTask;
let ws: Workspace;
beforeAll(async () => {
  prepared = await preparedTask();
});
beforeEach(() => {
  ws = freshWorkspace(prepared, 'actions');
});

describe('workspace actions', () => {
  it("lists the workspace's files, and nothing of the harness", () => {
    expect(ws.listFiles('.').split('\n')).toEqual(['data/', 'data_description.txt', 'train.py']);
    expect(ws.listFiles('data')).toBe('test.csv\ntrain.csv');
  });

  it('refuses to write, append or copy onto read-only files, and leaves them untouched', () => {
    const before = fs.readFileSync(path.join(ws.root, 'data/train.csv'), 'utf8');
    expect(() => ws.writeFile('data/train.csv', 'x')).toThrow(/read-only/);
    expect(() => ws.appendFile('./data/test.csv', 'x')).toThrow(/read-only/);
    expect(() => ws.copyFile('train.py', 'data/train.csv')).toThrow(ActionError);
    expect(fs.readFileSync(path.join(ws.root, 'data/train.csv'), 'utf8')).toBe(before);
    expect(ws.readFile('data/train.csv')).toBe(before);
  });

  it.each(['../outside.txt', '/etc/passwd', 'data/../../x.py'])('refuses the path %s', (p) => {
    expect(() => ws.readFile(p)).toThrow(ActionError);
    expect(() => ws.writeFile(p, 'x')).toThrow(ActionError);
  });

  it('refuses a symlink that leads out of the workspace', () => {
    fs.symlinkSync('/etc', path.join(ws.root, 'escape'));
    expect(() => ws.readFile('escape/hostname')).toThrow(/outside the workspace/);
  });

  it('undoes edits newest first, then says there is nothing to undo', () => {
    const original = ws.readFile('train.py');
    ws.writeFile('train.py', 'v1');
    ws.writeFile('train.py', 'v2');
    expect(ws.undoEditScript('train.py')).toBe('v1');
    expect(ws.undoEditScript('train.py')).toBe(original);
    expect(() => ws.undoEditScript('train.py')).toThrow(/no change to undo/);
  });

  it('inspects at most 100 lines and checks the bounds', () => {
    ws.writeFile('long.py', Array.from({ length: 150 }, (_, i) => `line${i + 1}`).join('\n'));
    expect(ws.inspectScriptLines('long.py', 2, 3)).toBe('2: line2\n3: line3');
    expect(ws.inspectScriptLines('long.py', 149, 160)).toBe('149: line149\n150: line150');
    expect(() => ws.inspectScriptLines('long.py', 1, 101)).toThrow(/at most 100/);
    expect(() => ws.inspectScriptLines('long.py', 0, 5)).toThrow(ActionError);
    expect(() => ws.inspectScriptLines('long.py', 200, 201)).toThrow(/only 150 lines/);
  });

  it('hashes code, not data or outputs, so the same code has the same hash', () => {
    const start = ws.snapshot();
    expect(Object.keys(start.files).sort()).toEqual(['data_description.txt', 'train.py']);
    fs.writeFileSync(path.join(ws.root, 'submission.csv'), 'target\n1\n');
    expect(ws.snapshot().codeHash).toBe(start.codeHash);
    ws.writeFile('train.py', 'print(1)\n');
    const edited = ws.snapshot().codeHash;
    expect(edited).not.toBe(start.codeHash);
    ws.undoEditScript('train.py');
    expect(ws.snapshot().codeHash).toBe(start.codeHash);
  });
});

// What an experiment script can plant in its workspace for the harness's file actions to trip on.
describe('confinement against planted links', () => {
  const outside = () => {
    const dir = path.join(TEST_DATA, `outside-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };

  it('refuses to write through a dangling symlink, which would create the file outside', () => {
    const dir = outside();
    fs.symlinkSync(path.join(dir, 'created.py'), path.join(ws.root, 'evil.py'));
    expect(() => ws.writeFile('evil.py', 'print(1)')).toThrow(/points nowhere/);
    expect(fs.existsSync(path.join(dir, 'created.py'))).toBe(false);
    fs.symlinkSync(path.join(dir, 'nodir'), path.join(ws.root, 'sub'));
    expect(() => ws.writeFile('sub/x.py', 'print(1)')).toThrow(/points nowhere/);
  });

  it('applies read-only rules where a link leads', () => {
    fs.symlinkSync('data', path.join(ws.root, 'd'));
    const before = fs.readFileSync(path.join(ws.root, 'data/train.csv'), 'utf8');
    expect(() => ws.writeFile('d/train.csv', 'x')).toThrow(/read-only/);
    expect(() => ws.copyFile('train.py', 'd/train.csv')).toThrow(/read-only/);
    fs.symlinkSync('data/train.csv', path.join(ws.root, 'alias.csv'));
    expect(() => ws.appendFile('alias.csv', 'x')).toThrow(/read-only/);
    expect(fs.readFileSync(path.join(ws.root, 'data/train.csv'), 'utf8')).toBe(before);
    expect(ws.readFile('d/train.csv')).toBe(before); // reading through an inside link is fine
  });

  it('refuses files with more than one hard link, which can be windows onto files outside', () => {
    const secret = path.join(outside(), 'secret.txt');
    fs.writeFileSync(secret, 'outside');
    fs.linkSync(secret, path.join(ws.root, 'hl.txt'));
    expect(() => ws.readFile('hl.txt')).toThrow(/more than one hard link/);
    expect(() => ws.writeFile('hl.txt', 'x')).toThrow(/more than one hard link/);
    expect(() => ws.copyFile('hl.txt', 'copy.txt')).toThrow(/more than one hard link/);
    expect(fs.readFileSync(secret, 'utf8')).toBe('outside');
  });

  it('keeps backups of a__b.py and a/b.py apart', () => {
    ws.writeFile('a__b.py', 'flat 1');
    ws.writeFile('a/b.py', 'nested 1');
    ws.writeFile('a__b.py', 'flat 2');
    ws.writeFile('a/b.py', 'nested 2');
    expect(ws.undoEditScript('a__b.py')).toBe('flat 1');
    expect(ws.undoEditScript('a/b.py')).toBe('nested 1');
  });

  it('lets an ordinary filesystem error surface with its code, for the agent to read', () => {
    let err: NodeJS.ErrnoException | undefined;
    try {
      ws.writeFile('train.py/x.py', 'x');
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err?.code).toMatch(/^E(NOTDIR|EXIST)$/);
  });
});

describe('the harness folder, which the workspace never holds', () => {
  const outside = () => {
    const dir = path.join(TEST_DATA, `victim-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    return dir;
  };

  it('keeps backups where no link planted in the workspace leads, and ignores a planted .mlr', () => {
    const victim = outside();
    // What earlier versions trusted: the harness folder inside the workspace, here a link, and a folder of links.
    fs.symlinkSync(victim, path.join(ws.root, '.mlr'));
    fs.mkdirSync(path.join(ws.root, 'fake'));
    fs.symlinkSync(victim, path.join(ws.root, 'fake', 'backup'));
    ws.writeFile('train.py', 'v1\n');
    ws.writeFile('train.py', 'v2\n');
    expect(ws.undoEditScript('train.py')).toBe('v1\n');
    expect(fs.readdirSync(victim)).toEqual([]);
    expect(fs.statSync(victim).mode & 0o777).toBe(0o755);
    // The workspace is not reset by what it holds: made once, it stays as the agent left it.
    const again = Workspace.create(ws.root, prepared.envDir, prepared.readOnlyPatterns, harnessOf(ws));
    expect(again.readFile('train.py')).toBe('v1\n');
    expect(fs.lstatSync(path.join(ws.root, '.mlr')).isSymbolicLink()).toBe(true);
  });

  it('is made beside the workspace, readable by the worker alone', () => {
    expect(fs.statSync(harnessOf(ws)).mode & 0o077).toBe(0);
    expect(fs.readdirSync(harnessOf(ws)).sort()).toEqual(['backup', 'made']);
    expect(path.relative(ws.root, harnessOf(ws)).startsWith('..')).toBe(true);
  });

  it('adopts a workspace an earlier version made: its edits kept, its .mlr folder removed without following links', () => {
    const victim = outside();
    fs.writeFileSync(path.join(victim, 'keep.txt'), 'outside');
    const legacy = path.join(TEST_DATA, 'workspaces', `legacy-${Date.now()}`);
    fs.cpSync(prepared.envDir, legacy, { recursive: true });
    fs.writeFileSync(path.join(legacy, 'train.py'), 'edited by the agent\n');
    fs.mkdirSync(path.join(legacy, '.mlr', 'backup'), { recursive: true });
    fs.symlinkSync(victim, path.join(legacy, '.mlr', 'backup', 'link'));
    const adopted = Workspace.create(legacy, prepared.envDir, prepared.readOnlyPatterns, `${legacy}-harness`);
    expect(adopted.readFile('train.py')).toBe('edited by the agent\n');
    expect(fs.existsSync(path.join(legacy, '.mlr'))).toBe(false);
    expect(fs.readFileSync(path.join(victim, 'keep.txt'), 'utf8')).toBe('outside');
  });
});

describe('files that are not regular', () => {
  it('refuses to read, write, copy or back up a FIFO, and reads no more than the cap', () => {
    execFileSync('mkfifo', [path.join(ws.root, 'pipe.py')]);
    expect(() => ws.readFile('pipe.py')).toThrow(/not a regular file/);
    expect(() => ws.writeFile('pipe.py', 'x')).toThrow(/not a regular file/);
    expect(() => ws.copyFile('pipe.py', 'copy.py')).toThrow(/not a regular file/);
    expect(() => ws.inspectScriptLines('pipe.py', 1, 2)).toThrow(/not a regular file/);
    fs.symlinkSync('pipe.py', path.join(ws.root, 'alias.py'));
    expect(() => ws.readFile('alias.py')).toThrow(/not a regular file/);
    const huge = path.join(ws.root, 'huge.py');
    fs.closeSync(fs.openSync(huge, 'w'));
    fs.truncateSync(huge, MAX_READ_BYTES + 1); // sparse: costs no disk, would cost the worker its memory
    expect(() => ws.readFile('huge.py')).toThrow(/at most 4194304 bytes are read whole/);
  });

  it('counts a FIFO, a link to a device and a sparse file in place of read-only data as changes', async () => {
    const data = path.join(ws.root, 'data');
    fs.rmSync(path.join(data, 'train.csv'));
    execFileSync('mkfifo', [path.join(data, 'train.csv')]);
    fs.rmSync(path.join(data, 'test.csv'));
    fs.symlinkSync('/dev/zero', path.join(data, 'test.csv'));
    expect((await ws.readOnlyChanges(prepared.envDir)).sort()).toEqual(['data/test.csv', 'data/train.csv']);
    fs.rmSync(path.join(data, 'test.csv'));
    fs.closeSync(fs.openSync(path.join(data, 'test.csv'), 'w'));
    fs.truncateSync(path.join(data, 'test.csv'), 1024 ** 4); // 1 TiB, sparse
    expect((await ws.readOnlyChanges(prepared.envDir)).sort()).toEqual(['data/test.csv', 'data/train.csv']);
    // Same size, one byte changed: still a change, found by hashing.
    fs.rmSync(path.join(data, 'train.csv'));
    const starter = fs.readFileSync(path.join(prepared.envDir, 'data', 'train.csv'));
    const changed = Buffer.from(starter);
    changed[0] = changed[0]! ^ 1;
    fs.writeFileSync(path.join(data, 'train.csv'), changed);
    fs.copyFileSync(path.join(prepared.envDir, 'data', 'test.csv'), path.join(data, 'test.csv'));
    expect(await ws.readOnlyChanges(prepared.envDir)).toEqual(['data/train.csv']);
  });
});

describe('snapshots', () => {
  it('leave out code-like files over the size cap and say which, and notice every change of a kept file', () => {
    const before = ws.snapshot();
    fs.writeFileSync(path.join(ws.root, 'dump.json'), 'x'.repeat(MAX_SNAPSHOT_FILE_BYTES + 1));
    const withBig = ws.snapshot();
    expect(withBig.skipped).toEqual([{ path: 'dump.json', bytes: MAX_SNAPSHOT_FILE_BYTES + 1 }]);
    expect(withBig.codeHash).toBe(before.codeHash);
    // Same size, rewritten at once: the cache must not hide the change.
    ws.writeFile('same.py', 'a = 1\n');
    const first = ws.snapshot().files['same.py'];
    ws.writeFile('same.py', 'b = 2\n');
    expect(ws.snapshot().files['same.py']).not.toBe(first);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { ActionError, MAX_SNAPSHOT_FILE_BYTES, type Workspace } from '../../src/experiments/workspace';
import type { PreparedTask } from '../../src/tasks/library';
import { freshWorkspace, preparedTask } from '../support/experiments';
import { TEST_DATA } from '../support/paths';

let prepared: PreparedTask;
let ws: Workspace;
beforeAll(async () => {
  prepared = await preparedTask();
});
beforeEach(() => {
  ws = freshWorkspace(prepared, 'actions');
});

describe('workspace actions', () => {
  it('lists files without the harness folder', () => {
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

  it.each(['../outside.txt', '/etc/passwd', 'data/../../x.py', '.mlr/backup/x'])('refuses the path %s', (p) => {
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

  it('refuses a symlink to the harness folder and applies read-only rules where a link leads', () => {
    fs.symlinkSync('.mlr', path.join(ws.root, 'inner'));
    expect(() => ws.listFiles('inner')).toThrow(/not accessible/);
    expect(() => ws.writeFile('inner/backup/x', 'x')).toThrow(/not accessible/);
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

import fs from 'node:fs';
import path from 'node:path';
import { ActionError, type Workspace } from '../../src/experiments/workspace';
import type { PreparedTask } from '../../src/tasks/library';
import { freshWorkspace, preparedTask } from '../support/experiments';

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

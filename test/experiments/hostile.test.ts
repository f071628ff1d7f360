// Experiment code is hostile: it may plant files for the harness to trip on, print without end, or lie
// about its results. Real scripts through the real local executor.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finishExperiment, startExperiment } from '../../src/db/experiments';
import { BoundedOutput } from '../../src/experiments/executor/local';
import { readUntrusted } from '../../src/experiments/executor/measure';
import { isAlive } from '../../src/stack/processes';
import type { PreparedTask } from '../../src/tasks/library';
import { EXECUTOR_STATE, freshWorkspace, localExecutor, preparedTask } from '../support/experiments';
import { createTestDatabase } from '../support/harness';

let prepared: PreparedTask;
beforeAll(async () => {
  prepared = await preparedTask();
});

async function execute(ws: ReturnType<typeof freshWorkspace>, script: string, maxLogBytes?: number) {
  const { executor, store } = await localExecutor(true, maxLogBytes);
  const result = await executor.execute({
    workspaceDir: ws.root,
    script,
    seed: 1,
    timeoutMs: 60_000,
    memoryMb: 2048,
    scriptsDir: prepared.scriptsDir,
    metricName: 'accuracy',
    logKey: `test/hostile-${Date.now()}-${Math.random().toString(36).slice(2)}.log`,
  });
  return { result, store };
}

/** A process group standing in for anything else on the machine: it must survive every execution. */
function decoy() {
  const child = spawn('sleep', ['120'], { detached: true, stdio: 'ignore' });
  return { pgid: child.pid!, stop: () => process.kill(-child.pid!, 'SIGKILL') };
}

const STARTER = () => fs.readFileSync(path.join(prepared.envDir, 'train.py'), 'utf8');

describe('hostile experiment code', () => {
  it('cannot make the executor kill another process group by planting a pgid in the workspace', async () => {
    const victim = decoy();
    try {
      const ws = freshWorkspace(prepared, 'pgid');
      fs.mkdirSync(path.join(ws.root, '.mlr'), { recursive: true });
      fs.writeFileSync(path.join(ws.root, '.mlr', 'running.pgid'), String(victim.pgid));
      ws.writeFile('plant.py', `open(".mlr/running.pgid", "w").write("${victim.pgid}")\nprint("planted")\n`);
      await execute(ws, 'plant.py');
      await execute(ws, 'plant.py');
      expect(isAlive(victim.pgid)).toBe(true);
    } finally {
      victim.stop();
    }
  });

  it('kills a stale group recorded for its workspace only when that group is its sandbox there', async () => {
    const victim = decoy();
    try {
      const ws = freshWorkspace(prepared, 'stale');
      ws.writeFile('ok.py', 'print("ok")\n');
      // As if a dead worker had recorded this group for this workspace: it is not our sandbox, so it lives.
      const key = createHash('sha256').update(path.resolve(ws.root)).digest('hex').slice(0, 32);
      fs.mkdirSync(EXECUTOR_STATE, { recursive: true });
      fs.writeFileSync(path.join(EXECUTOR_STATE, `${key}.pgid`), String(victim.pgid));
      await execute(ws, 'ok.py');
      expect(isAlive(victim.pgid)).toBe(true);
      for (const planted of ['1', '-1', '0', String(process.pid), 'not a number']) {
        fs.writeFileSync(path.join(EXECUTOR_STATE, `${key}.pgid`), planted);
        await execute(ws, 'ok.py');
      }
      expect(isAlive(victim.pgid)).toBe(true);
    } finally {
      victim.stop();
    }
  });

  it('is not blocked by a FIFO named metrics.json, and records that it was not read', async () => {
    const ws = freshWorkspace(prepared, 'fifo');
    ws.writeFile(
      'fifo.py',
      `${STARTER()}\nimport os\nos.remove("metrics.json") if os.path.exists("metrics.json") else None\nos.mkfifo("metrics.json")\n`,
    );
    const { result } = await execute(ws, 'fifo.py');
    expect(result.status).toBe('succeeded');
    expect(result.metrics!.reported).toEqual({ error: 'metrics.json was not read: not a regular file' });
  });

  it('does not follow a metrics.json symlink out of the workspace', async () => {
    const ws = freshWorkspace(prepared, 'symlink');
    ws.writeFile(
      'link.py',
      `${STARTER()}\nimport os\nos.remove("metrics.json")\nos.symlink("/etc/passwd", "metrics.json")\n`,
    );
    const { result } = await execute(ws, 'link.py');
    expect(result.metrics!.reported).toEqual({ error: 'metrics.json was not read: a symbolic link' });
  });

  it('keeps bounded output from a script that prints 40 MB: head, a marker, and the tail', async () => {
    const ws = freshWorkspace(prepared, 'flood');
    ws.writeFile(
      'flood.py',
      'import sys\nline = "x" * 1023 + "\\n"\nfor i in range(40 * 1024):\n    sys.stdout.write(line)\nprint("THE END")\n',
    );
    const { result, store } = await execute(ws, 'flood.py', 1024 * 1024);
    const log = (await store.get(result.log.uri)).toString('utf8');
    expect(log.length).toBeLessThan(1024 * 1024 + 200);
    expect(log).toMatch(/\[… \d+ bytes of output omitted …\]/);
    expect(log.trimEnd().endsWith('THE END')).toBe(true);
    expect(result.logTail.trimEnd().endsWith('THE END')).toBe(true);
  });
});

describe('NUL bytes in what an experiment writes', () => {
  it('are stored escaped, in the log tail and in reported metrics, instead of failing the insert', async () => {
    const { pool } = await createTestDatabase();
    try {
      const ws = freshWorkspace(prepared, 'nul');
      ws.writeFile(
        'nul.py',
        `${STARTER()}\nimport json, sys\nsys.stdout.write("before\\x00after\\n")\njson.dump({"note": "a\\x00b"}, open("metrics.json", "w"))\n`,
      );
      const { result } = await execute(ws, 'nul.py');
      expect(result.logTail).toContain('\u0000');
      const row = await startExperiment(pool, {
        runId: null,
        key: `nul-${Date.now()}`,
        role: 'agent',
        attempt: 0,
        taskId: 't',
        codeHash: 'c',
        seed: 1,
      });
      const done = await finishExperiment(pool, row.id, result);
      expect(done.log_tail).toContain('before\\0after');
      expect(done.metrics!.reported).toEqual({ note: 'a\\0b' });
    } finally {
      await pool.end();
    }
  });
});

describe('BoundedOutput', () => {
  it('keeps everything under the cap and head plus tail over it', () => {
    const small = new BoundedOutput(10);
    small.push(Buffer.from('abc'));
    small.push(Buffer.from('def'));
    expect(small.contents().toString()).toBe('abcdef');
    expect(small.lastBytes(4).toString()).toBe('cdef');
    const big = new BoundedOutput(10);
    for (const c of 'abcdefghijklmnopqrstuvwxyz') big.push(Buffer.from(c));
    expect(big.contents().toString()).toBe('abcde\n[… 16 bytes of output omitted …]\nvwxyz');
    expect(big.lastBytes(3).toString()).toBe('xyz');
  });
});

describe('readUntrusted', () => {
  it('refuses what is not a small regular file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-untrusted-'));
    try {
      fs.writeFileSync(path.join(dir, 'big'), 'x'.repeat(100));
      fs.writeFileSync(path.join(dir, 'ok'), '{"a":1}');
      fs.symlinkSync('/etc/hostname', path.join(dir, 'link'));
      fs.mkdirSync(path.join(dir, 'dir'));
      expect(await readUntrusted(path.join(dir, 'ok'), 50)).toEqual({ text: '{"a":1}' });
      expect(await readUntrusted(path.join(dir, 'big'), 50)).toEqual({ refused: 'larger than 50 bytes' });
      expect(await readUntrusted(path.join(dir, 'link'), 50)).toEqual({ refused: 'a symbolic link' });
      expect(await readUntrusted(path.join(dir, 'dir'), 50)).toEqual({ refused: 'not a regular file' });
      expect(await readUntrusted(path.join(dir, 'none'), 50)).toEqual({ refused: 'missing' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

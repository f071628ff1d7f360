// Experiment code is hostile: it may plant files for the harness to trip on, print without end, or lie
// about its results. Real scripts through the real local executor.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { finishExperiment, startExperiment } from '../../src/db/experiments';
import { BoundedOutput, createLocalExecutor } from '../../src/experiments/executor/local';
import { detectCgroups, reapStaleCgroups } from '../../src/experiments/executor/cgroup';
import { planSandbox } from '../../src/experiments/executor/sandbox';
import { SandboxUnavailableError } from '../../src/experiments/executor/types';
import { readUntrusted } from '../../src/experiments/executor/measure';
import { isAlive } from '../../src/stack/processes';
import type { PreparedTask } from '../../src/tasks/library';
import {
  EXECUTOR_SCRATCH,
  EXECUTOR_STATE,
  TEST_INPUTS,
  PYTHON,
  SANDBOX,
  execSpec,
  freshWorkspace,
  localExecutor,
  preparedTask,
} from '../support/experiments';
import { TEST_DATA } from '../support/paths';
import { createTestDatabase } from '../support/harness';

let prepared: PreparedTask;
beforeAll(async () => {
  prepared = await preparedTask();
});

async function execute(ws: ReturnType<typeof freshWorkspace>, script: string, maxLogBytes?: number) {
  const { executor, store } = await localExecutor(true, maxLogBytes);
  const result = await executor.execute(execSpec(prepared, ws, script));
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

  it('cannot make the worker write, chown or chmod through links it plants where harness files once were', async () => {
    // The victim stands for /etc/cron.d (a backup there is root on the host) or a prepared task's env.
    const victim = path.join(TEST_DATA, `victim-${Date.now()}`);
    fs.mkdirSync(victim, { mode: 0o755 });
    fs.chmodSync(victim, 0o755);
    const before = fs.statSync(victim);
    const ws = freshWorkspace(prepared, 'links');
    ws.writeFile(
      'plant.py',
      [
        'import os, time',
        'for name in (".mlr", "fake"):',
        '    if os.path.lexists(name):',
        '        os.rename(name, f"moved-{time.time_ns()}")  # a folder the uid may not empty, it may still move',
        `os.symlink(${JSON.stringify(victim)}, ".mlr")`,
        'os.mkdir("fake")',
        `os.symlink(${JSON.stringify(victim)}, "fake/backup")`,
        `os.symlink(${JSON.stringify(victim)}, "fake/home")`,
        'print("planted")',
      ].join('\n'),
    );
    const first = await execute(ws, 'plant.py');
    expect(first.result.logTail).toContain('planted');
    ws.writeFile('train.py', 'print("edited")\n'); // a backup of the starter's train.py is made here
    await execute(ws, 'plant.py'); // the workspace is handed over again, with the links in it
    expect(ws.undoEditScript('train.py')).toBe(STARTER());
    const after = fs.statSync(victim);
    expect(fs.readdirSync(victim)).toEqual([]);
    expect([after.uid, after.gid, after.mode]).toEqual([before.uid, before.gid, before.mode]);
  });

  it('is not able to block the worker with a FIFO or a device in place of read-only data', async () => {
    const ws = freshWorkspace(prepared, 'ro-fifo');
    ws.writeFile(
      'swap.py',
      [
        'import os',
        'os.remove("data/train.csv")',
        'os.mkfifo("data/train.csv")',
        'os.remove("data/test.csv")',
        'os.symlink("/dev/zero", "data/test.csv")',
      ].join('\n'),
    );
    const { result } = await execute(ws, 'swap.py');
    expect(result.status).toBe('failed');
    expect(result.readOnlyViolations.sort()).toEqual(['data/test.csv', 'data/train.csv']);
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

// Each probe prints one line per attempt; a line says what the sandboxed code could do.
describe('the sandbox', () => {
  const probe = (ws: ReturnType<typeof freshWorkspace>, name: string, code: string) => {
    ws.writeFile(name, code);
    return execute(ws, name).then(({ result, store }) =>
      store.get(result.log.uri).then((b) => ({ result, log: b.toString('utf8') })),
    );
  };

  it('runs the code as an unprivileged user, in its own PID namespace, recorded as sandboxed', async () => {
    const ws = freshWorkspace(prepared, 'who');
    const { result, log } = await probe(
      ws,
      'who.py',
      'import os\nprint("uid", os.getuid(), "pid", os.getpid())\nprint("procs", len([p for p in os.listdir("/proc") if p.isdigit()]))\n',
    );
    expect(result.sandbox).toBe('bwrap');
    expect(result.networkIsolated).toBe(true);
    const uid = Number(/uid (\d+)/.exec(log)![1]);
    expect(uid).not.toBe(0);
    if (process.getuid!() !== 0) expect(uid).toBe(process.getuid!()); // unprivileged already: same user, own namespaces
    expect(Number(/procs (\d+)/.exec(log)![1])).toBeLessThan(6); // the sandbox's own few processes, not the host's
  });

  it('cannot read the data directory, the prepared task, other workspaces, the API token or a parent environment', async () => {
    const other = freshWorkspace(prepared, 'neighbour');
    other.writeFile('private.py', 'SECRET = 1\n');
    fs.mkdirSync(path.join(TEST_DATA, 'data'), { recursive: true });
    fs.writeFileSync(path.join(TEST_DATA, 'data', 'api-token'), 'mlr_secret_token', { mode: 0o600 });
    const targets = [
      path.join(other.root, 'private.py'),
      path.join(TEST_DATA, 'data', 'api-token'),
      path.join(prepared.scriptsDir, 'eval.py'),
      path.join(TEST_DATA, 'stack.json'),
      `/proc/${process.pid}/environ`,
      '/etc/shadow',
    ];
    const ws = freshWorkspace(prepared, 'reader');
    const code = `import json\nfor p in ${JSON.stringify(targets)}:\n    try:\n        open(p).read()\n        print("READ", p)\n    except Exception as e:\n        print("blocked", p, type(e).__name__)\n`;
    const { log } = await probe(ws, 'reader.py', code);
    expect(log).not.toMatch(/^READ/m);
    expect(log.match(/^blocked/gm)).toHaveLength(targets.length);
  });

  it('has a private, writable /tmp and /dev/shm (joblib and DataLoader need shared memory)', async () => {
    const ws = freshWorkspace(prepared, 'shm');
    const { log } = await probe(
      ws,
      'shm.py',
      'import warnings\nwarnings.simplefilter("error")\nfrom joblib._multiprocessing_helpers import mp\nopen("/tmp/x", "w").write("1")\nopen("/dev/shm/y", "w").write("1")\nprint("ok", mp is not None)\n',
    );
    expect(log).toMatch(/^ok True$/m);
  });

  it("sees no secret in any process's environment it can reach (pid 1 of its namespace is the sandbox's own)", async () => {
    process.env.OPENAI_API_KEY = 'sk-leak-check-value';
    try {
      const ws = freshWorkspace(prepared, 'environ');
      const code = [
        'import os',
        'for pid in [p for p in os.listdir("/proc") if p.isdigit()]:',
        '    try:',
        '        print(pid, open(f"/proc/{pid}/environ").read().replace("\\0", " "))',
        '    except Exception as e:',
        '        print(pid, "blocked", type(e).__name__)',
      ].join('\n');
      const { log } = await probe(ws, 'environ.py', `${code}\n`);
      expect(log).toMatch(/^1 /m);
      expect(log).not.toMatch(/sk-leak-check-value|OPENAI_API_KEY|DATABASE_URL/);
    } finally {
      delete process.env.OPENAI_API_KEY;
    }
  });

  it('cannot change the prepared eval.py that every run of the task shares', async () => {
    const evalPy = path.join(prepared.scriptsDir, 'eval.py');
    const before = fs.readFileSync(evalPy, 'utf8');
    const ws = freshWorkspace(prepared, 'tamper');
    const { log } = await probe(
      ws,
      'tamper.py',
      `try:\n    open(${JSON.stringify(evalPy)}, "a").write("\\nHACKED = 1\\n")\n    print("WROTE")\nexcept Exception as e:\n    print("blocked", type(e).__name__)\n`,
    );
    expect(log).toMatch(/^blocked/m);
    expect(fs.readFileSync(evalPy, 'utf8')).toBe(before);
  });

  it('sees no host socket (a Postgres-like Unix socket in /tmp) and no network', async () => {
    // A listening Unix socket in the host's /tmp, where embedded Postgres puts its own.
    const sockPath = path.join(os.tmpdir(), `.s.MLRTEST.${process.pid}`);
    fs.rmSync(sockPath, { force: true });
    const server = net.createServer((c) => c.end('HOST SOCKET\n'));
    await new Promise<void>((r) => server.listen(sockPath, r));
    try {
      const ws = freshWorkspace(prepared, 'sockets');
      const code = [
        'import os, socket',
        `p = ${JSON.stringify(sockPath)}`,
        'print("exists", os.path.exists(p))',
        'for family, address in ((socket.AF_UNIX, p), (socket.AF_INET, ("10.0.0.1", 80))):',
        '    s = socket.socket(family)',
        '    s.settimeout(3)',
        '    try:',
        '        s.connect(address)',
        '        print("CONNECTED", s.recv(100))',
        '    except Exception as e:',
        '        print("blocked", type(e).__name__)',
      ].join('\n');
      const { log } = await probe(ws, 'sock.py', `${code}\n`);
      expect(log).toMatch(/^exists False$/m);
      expect(log).not.toMatch(/CONNECTED/);
      expect(log.match(/^blocked/gm)).toHaveLength(2);
    } finally {
      server.close();
    }
  });

  it('kills a setsid() child at the timeout together with the script', async () => {
    const ws = freshWorkspace(prepared, 'setsid');
    const marker = path.join(ws.root, 'still-alive');
    ws.writeFile(
      'escape.py',
      `import os, subprocess, time\nsubprocess.Popen(["python", "-c", "import time, pathlib\\ntime.sleep(3)\\npathlib.Path('${marker}').write_text('x')"], start_new_session=True)\ntime.sleep(60)\n`,
    );
    const { executor } = await localExecutor(true);
    const result = await executor.execute(execSpec(prepared, ws, 'escape.py', { timeoutMs: 1500 }));
    expect(result.status).toBe('timeout');
    await new Promise((r) => setTimeout(r, 3500));
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('resource limits', () => {
  const run = async (
    name: string,
    code: string,
    limits: { maxProcs?: number; maxFileMb?: number; maxDiskMb?: number },
  ) => {
    const ws = freshWorkspace(prepared, name);
    ws.writeFile(`${name}.py`, code);
    const { executor, store } = await localExecutor(true, undefined, undefined, limits);
    const result = await executor.execute(execSpec(prepared, ws, `${name}.py`));
    return { result, log: (await store.get(result.log.uri)).toString('utf8'), ws };
  };

  it('caps the processes of one execution (cgroup pids.max, else RLIMIT_NPROC) so a fork storm stops, as root or not', async () => {
    const code =
      'import subprocess\nprocs = []\ntry:\n    for i in range(200):\n        procs.append(subprocess.Popen(["sleep", "30"]))\nexcept OSError as e:\n    print("refused after", len(procs), type(e).__name__)\n';
    const { log } = await run('forks', code, { maxProcs: 40 });
    const started = Number(/refused after (\d+)/.exec(log)?.[1]);
    expect(started).toBeGreaterThan(10);
    expect(started).toBeLessThan(40);
  });

  it('limits resident memory in a cgroup where the host allows one, reads the peak from it, and removes it', async () => {
    const host = await detectCgroups();
    if (process.getuid!() !== 0) {
      expect(host).toBeUndefined(); // only root makes cgroups here; rlimits apply instead
      return;
    }
    expect(host).toBeDefined();
    const ws = freshWorkspace(prepared, 'rss');
    ws.writeFile('rss.py', 'x = b"y" * (150 * 1024 * 1024)\nprint("held", len(x))\n');
    const { executor } = await localExecutor(true);
    const spec = execSpec(prepared, ws, 'rss.py');
    const parent = host!.version === 'v2' ? host!.parent : host!.memory;
    const groups = () => fs.readdirSync(parent).filter((d) => d.startsWith('exec-'));
    const before = groups();
    const fits = await executor.execute({ ...spec, resources: { ...spec.resources, memoryMb: 400 } });
    expect(fits.logTail).toContain('held 157286400');
    expect(fits.peakMemoryMb).toBeGreaterThan(150);
    const killed = await executor.execute({
      ...spec,
      resources: { ...spec.resources, memoryMb: 100 },
      logKey: `${spec.logKey}.2`,
    });
    expect(killed.error).toMatch(/exit code \d+ \(memory limit 100 MB\)/);
    expect(groups().filter((g) => !before.includes(g))).toEqual([]); // both removed
    // One a killed worker left behind (empty, over a minute old) is reaped; a fresh one is not.
    const stale = path.join(parent, `exec-${Date.now() - 120_000}-deadbeef`);
    const fresh = path.join(parent, `exec-${Date.now()}-cafecafe`);
    fs.mkdirSync(stale);
    fs.mkdirSync(fresh);
    reapStaleCgroups(host!);
    expect([fs.existsSync(stale), fs.existsSync(fresh)]).toEqual([false, true]);
    fs.rmdirSync(fresh);
  });

  it('fails an execution whose workspace grows past the disk quota, stopping a writer that keeps going', async () => {
    const burst = await run('burst', 'open("burst.bin", "wb").write(b"x" * (8 * 1024 * 1024))\nprint("wrote")\n', {
      maxDiskMb: 5,
    });
    expect(burst.result).toMatchObject({
      status: 'failed',
      error: 'disk quota exceeded: the workspace grew past 5 MB',
    });
    const started = Date.now();
    const endless = await run(
      'endless',
      'import time\nwith open("grow.bin", "wb") as f:\n    for i in range(600):\n        f.write(b"x" * 1024 * 1024)\n        f.flush()\n        time.sleep(0.05)\n',
      { maxDiskMb: 5 },
    );
    expect(endless.result.error).toMatch(/disk quota exceeded/);
    expect(Date.now() - started).toBeLessThan(25_000); // stopped, not left to write for 30 s
  });

  it('counts what lies deeper than PATH_MAX and behind a mode-000 folder against the disk quota', async () => {
    const code = [
      'import os',
      'for i in range(30):  # 30 levels of 200-character names: paths of over 6,000 bytes',
      '    os.mkdir("d" * 200)',
      '    os.chdir("d" * 200)',
      'open("deep.bin", "wb").write(b"x" * (4 * 1024 * 1024))',
      'os.chdir(os.environ["MLR_WS"])',
      'os.mkdir("locked")',
      'open("locked/hidden.bin", "wb").write(b"x" * (4 * 1024 * 1024))',
      'os.chmod("locked", 0)',
      'print("hid")',
    ].join('\n');
    const ws = freshWorkspace(prepared, 'deep');
    ws.writeFile('deep.py', `import os\nos.environ["MLR_WS"] = os.getcwd()\n${code}\n`);
    const { executor } = await localExecutor(true, undefined, undefined, { maxDiskMb: 6, maxFileMb: 64 });
    const result = await executor.execute(execSpec(prepared, ws, 'deep.py'));
    expect(result.logTail).toContain('hid');
    expect(result).toMatchObject({ status: 'failed', error: 'disk quota exceeded: the workspace grew past 6 MB' });
    execFileSync('rm', ['-rf', ws.root]); // GNU rm walks with openat too: the suite's cleanup need not
  });

  it('caps the size of a file the execution writes', async () => {
    const code =
      'import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\ntry:\n    with open("big.bin", "wb") as f:\n        f.write(b"x" * (3 * 1024 * 1024))\n    print("WROTE")\nexcept OSError as e:\n    print("refused", type(e).__name__)\n';
    const { log, ws } = await run('bigfile', code, { maxFileMb: 1 });
    expect(log).toMatch(/^refused/m);
    expect(fs.statSync(path.join(ws.root, 'big.bin')).size).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe('where the sandbox cannot be built', () => {
  it('refuses to execute with the reason, unless the operator opted out, which is recorded', async () => {
    const ws = freshWorkspace(prepared, 'refuse');
    ws.writeFile('ok.py', 'print("ran")\n');
    const { store } = await localExecutor(true);
    const refused = createLocalExecutor({
      python: PYTHON,
      inputs: TEST_INPUTS,
      scratchDir: EXECUTOR_SCRATCH,
      sandboxScript: SANDBOX,
      store,
      isolationPrefix: [],
      stateDir: EXECUTOR_STATE,
      readOnly: [],
      sandbox: {
        kind: 'bwrap',
        dropPrivileges: false,
        refusal: 'bubblewrap (bwrap) is not installed: install bubblewrap, or set MLR_SANDBOX=none',
      },
    });
    const spec = execSpec(prepared, ws, 'ok.py', { timeoutMs: 30_000 });
    await expect(refused.execute(spec)).rejects.toThrow(SandboxUnavailableError);
    await expect(refused.execute(spec)).rejects.toThrow(/MLR_SANDBOX=none/);
    const bare = await (await localExecutor(true, undefined, 'none')).executor.execute(spec);
    expect(bare.sandbox).toBe('none');
  });

  it('plans a refusal when bwrap is not on the machine', async () => {
    const plan = await planSandbox('none');
    expect(plan).toEqual({ kind: 'none', dropPrivileges: false });
    const real = await planSandbox('auto');
    expect(real.refusal).toBeUndefined(); // this host has it (npm test installs it as root)
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

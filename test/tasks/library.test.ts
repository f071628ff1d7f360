import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { planSandbox, prepareIsolation, pythonPaths } from '../../src/experiments/executor/sandbox';
import { hashTree, inspectTasks, listTasks, loadTask, prepareTask, TaskRefused } from '../../src/tasks/library';
import { PYTHON } from '../support/experiments';
import { ROOT, TEST_DATA } from '../support/paths';

describe('the task library', () => {
  it('ships its tasks with manifests: two lower-is-better, two with their own environment, one fixed baseline', () => {
    const tasks = listTasks(path.join(ROOT, 'tasks'));
    expect(tasks.map((t) => [t.id, t.metric, t.direction, Boolean(t.envRequirements)])).toEqual([
      ['breast-cancer', 'accuracy', 'max', false],
      ['diabetes-regression', 'rmse', 'min', false],
      ['digits-logloss', 'log_loss', 'min', false],
      ['digits-torch-mlp', 'accuracy', 'max', true],
      ['iris-incomplete', 'accuracy', 'max', false],
      ['synthetic-sentiment', 'accuracy', 'max', false],
      ['wine-legacy-numpy', 'accuracy', 'max', true],
    ]);
    for (const t of tasks) {
      expect(t.researchProblem.length).toBeGreaterThan(50);
      expect(t.source).toBe('task.json');
    }
    expect(tasks.find((t) => t.id === 'digits-torch-mlp')!.envRequirements).toContain('torch==');
    // An unfinished starter with the fixed baseline it is compared with (chance: one in three).
    expect(tasks.find((t) => t.id === 'iris-incomplete')!.baseline).toBeCloseTo(1 / 3, 12);
    expect(tasks.every((t) => t.scoreBy === 'eval')).toBe(true);
  });

  it('imports a task folder in MLAgentBench layout as it is, without task.json', async () => {
    const dir = path.join(TEST_DATA, 'mlab-tasks', 'house-price');
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, 'tasks', 'diabetes-regression'), dir, { recursive: true });
    fs.rmSync(path.join(dir, 'task.json'));
    const task = loadTask(dir)!;
    // House prices are scored by mean absolute error upstream: lower is better, and a score <= 0 is invalid.
    expect(task).toMatchObject({
      id: 'house-price',
      name: 'house-price',
      metric: 'mae',
      direction: 'min',
      source: 'upstream',
      invalidAtOrBelow: 0,
      // Upstream's plot.py compares house-price agents with a fixed baseline (its error sentinel), not a run.
      baseline: 1e10,
      baselineFrom: 'upstream',
    });
    expect(listTasks(path.dirname(dir)).map((t) => t.id)).toEqual(['house-price']);
    const prepared = await prepareTask(task, path.join(TEST_DATA, 'mlab-prepared'), PYTHON);
    expect(fs.existsSync(path.join(prepared.envDir, 'data', 'train.csv'))).toBe(true);
    expect(fs.existsSync(path.join(prepared.scriptsDir, 'answer.csv'))).toBe(true);
    expect(prepared.readOnlyPatterns).toEqual(['./data/train.csv', './data/test.csv']);
    // The source folder stays clean: data is written only into the prepared copy.
    expect(fs.existsSync(path.join(dir, 'env', 'data'))).toBe(false);
    const again = await prepareTask(task, path.join(TEST_DATA, 'mlab-prepared'), PYTHON);
    expect(again.envHash).toBe(prepared.envHash);
    expect(prepared.envHash).toBe(hashTree(prepared.envDir));
    // The baseline cache's key: the same while nothing changes, another once the scorer does.
    expect(again.fingerprint).toBe(prepared.fingerprint);
    fs.appendFileSync(path.join(dir, 'scripts', 'eval.py'), '\n# scored differently now\n');
    const changed = await prepareTask(task, path.join(TEST_DATA, 'mlab-prepared'), PYTHON);
    expect(changed.fingerprint).not.toBe(prepared.fingerprint);
    expect(changed.envHash).toBe(prepared.envHash);
  });

  it('refuses a folder that says nowhere how it is scored, and says what to add', () => {
    const root = path.join(TEST_DATA, 'unscored-tasks');
    fs.rmSync(root, { recursive: true, force: true });
    const dir = path.join(root, 'my-regression');
    fs.cpSync(path.join(ROOT, 'tasks', 'diabetes-regression'), dir, { recursive: true });
    fs.rmSync(path.join(dir, 'task.json'));
    expect(() => loadTask(dir)).toThrow(TaskRefused);
    const { tasks, refused } = inspectTasks(root);
    expect(tasks).toEqual([]);
    expect(refused.map((r) => r.taskId)).toEqual(['my-regression']);
    expect(refused[0]!.message).toContain('does not say how it is scored');
    expect(refused[0]!.message).toContain('{"metric": "<what scripts/eval.py returns>", "direction": "max" or "min"}');
    // With the task.json it asks for, the same folder runs.
    fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify({ metric: 'rmse', direction: 'min' }));
    expect(loadTask(dir)).toMatchObject({ metric: 'rmse', direction: 'min', source: 'task.json' });
    fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify({ metric: 'rmse', direction: 'down' }));
    expect(() => loadTask(dir)).toThrow(/task.json is invalid \(direction: /);
  });

  it('runs prepare.py with stdin closed: a script that asks a question fails at once, saying so', async () => {
    const dir = path.join(TEST_DATA, 'asking-tasks', 'asks');
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, 'tasks', 'diabetes-regression'), dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'scripts', 'prepare.py'),
      'answer = input("Download 40 GB of data? [y/N] ")\nprint(answer)\n',
    );
    const started = Date.now();
    const err = await prepareTask(loadTask(dir)!, path.join(TEST_DATA, 'asking-prepared'), PYTHON).catch((e) => e);
    expect(err).toBeInstanceOf(TaskRefused);
    expect(err.message).toContain('prepare.py asked for input on stdin');
    expect(Date.now() - started).toBeLessThan(30_000);
    // Nothing half-prepared is left behind to be mistaken for a prepared task.
    expect(fs.readdirSync(path.join(TEST_DATA, 'asking-prepared'))).toEqual([]);
  });

  it('runs prepare.py sandboxed: it writes its own copy and reaches the network, but writes nowhere else and sees no secret', async () => {
    const dir = path.join(TEST_DATA, 'sandboxed-tasks', 'prepares');
    const outside = path.join(TEST_DATA, 'sandboxed-tasks', 'outside');
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, 'tasks', 'diabetes-regression'), dir, { recursive: true });
    fs.mkdirSync(outside);
    const server = net.createServer((c) => c.on('error', () => undefined).end('data'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const prepare = [
      'import json, os, socket',
      'def tried(f):',
      '    try:',
      '        f()',
      '        return True',
      '    except OSError:',
      '        return False',
      `got = socket.create_connection(("127.0.0.1", ${port}), timeout=5).recv(10).decode()`,
      `escaped = tried(lambda: open(${JSON.stringify(path.join(outside, 'planted.txt'))}, "w"))`,
      'probe = {"got": got, "escaped": escaped, "secret": os.environ.get("MLR_PROBE_SECRET")}',
      'json.dump(probe, open("../env/probe.json", "w"))',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'scripts', 'prepare.py'), `${prepare}\n`);
    process.env.MLR_PROBE_SECRET = 'sk-should-not-be-seen';
    try {
      const plan = await planSandbox('auto');
      const isolate = prepareIsolation(plan, await pythonPaths(PYTHON));
      expect(isolate).toBeDefined();
      const prepared = await prepareTask(loadTask(dir)!, path.join(TEST_DATA, 'sandboxed-prepared'), PYTHON, undefined, isolate);
      const probe = JSON.parse(fs.readFileSync(path.join(prepared.envDir, 'probe.json'), 'utf8'));
      expect(probe).toEqual({ got: 'data', escaped: false, secret: null });
      expect(fs.readdirSync(outside)).toEqual([]);
    } finally {
      delete process.env.MLR_PROBE_SECRET;
      server.close();
    }
  });

  it("reads a task's own per-execution time limit, and refuses one outside 1 s to a day", () => {
    const dir = path.join(TEST_DATA, 'timed-tasks', 'timed');
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, 'tasks', 'breast-cancer'), dir, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'task.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify({ ...manifest, timeoutSeconds: 7200 }));
    expect(loadTask(dir)!.timeoutSeconds).toBe(7200);
    for (const bad of [0, 1.5, 86_401]) {
      fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify({ ...manifest, timeoutSeconds: bad }));
      expect(() => loadTask(dir)).toThrow(/task\.json is invalid \(timeoutSeconds: /);
    }
  });

  it('ignores folders that are not tasks', () => {
    const dir = path.join(TEST_DATA, 'not-tasks', 'junk');
    fs.mkdirSync(dir, { recursive: true });
    expect(listTasks(path.dirname(dir))).toEqual([]);
  });
});

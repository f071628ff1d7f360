import fs from 'node:fs';
import path from 'node:path';
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

  it('ignores folders that are not tasks', () => {
    const dir = path.join(TEST_DATA, 'not-tasks', 'junk');
    fs.mkdirSync(dir, { recursive: true });
    expect(listTasks(path.dirname(dir))).toEqual([]);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { hashTree, listTasks, loadTask, prepareTask } from '../../src/tasks/library';
import { PYTHON } from '../support/experiments';
import { ROOT, TEST_DATA } from '../support/paths';

describe('the task library', () => {
  it('ships three CPU tasks with manifests', () => {
    const tasks = listTasks(path.join(ROOT, 'tasks'));
    expect(tasks.map((t) => [t.id, t.metric, t.direction])).toEqual([
      ['breast-cancer', 'accuracy', 'max'], ['diabetes-regression', 'rmse', 'min'], ['synthetic-sentiment', 'accuracy', 'max']]);
    for (const t of tasks) expect(t.researchProblem.length).toBeGreaterThan(50);
  });

  it('imports a task folder in MLAgentBench layout as it is, without task.json', async () => {
    const dir = path.join(TEST_DATA, 'mlab-tasks', 'house-price');
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, 'tasks', 'diabetes-regression'), dir, { recursive: true });
    fs.rmSync(path.join(dir, 'task.json'));
    const task = loadTask(dir)!;
    expect(task).toMatchObject({ id: 'house-price', name: 'house-price', metric: 'score', direction: 'max' });
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

  it('ignores folders that are not tasks', () => {
    const dir = path.join(TEST_DATA, 'not-tasks', 'junk');
    fs.mkdirSync(dir, { recursive: true });
    expect(listTasks(path.dirname(dir))).toEqual([]);
  });
});

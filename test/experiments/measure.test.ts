// Scoring by the task's eval.py: MLAgentBench's sentinels (1e10 on an error, <= 0 for an invalid submission in
// upstream tasks) fail the execution instead of being recorded as scores.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ERROR_SENTINEL, measure, scoreExecution } from '../../src/experiments/executor/measure';
import { planSandbox, pythonPaths, scoringIsolation } from '../../src/experiments/executor/sandbox';
import { PYTHON } from '../support/experiments';
import { TEST_DATA } from '../support/paths';

const root = path.join(TEST_DATA, 'measure');

function evalReturning(value: string): { scripts: string; outputs: string } {
  const scripts = path.join(root, `scripts-${value.replace(/\W/g, '_')}`);
  const outputs = path.join(root, 'outputs');
  fs.mkdirSync(scripts, { recursive: true });
  fs.mkdirSync(outputs, { recursive: true });
  fs.writeFileSync(path.join(scripts, 'eval.py'), `def get_score(submission_folder="../env"):\n    return ${value}\n`);
  return { scripts, outputs };
}

describe("scoring with the task's eval.py", () => {
  it('records a score as the metric', async () => {
    const { scripts, outputs } = evalReturning('0.25');
    await expect(measure(PYTHON, scripts, outputs, 'mae', 0)).resolves.toEqual({ mae: 0.25 });
  });

  it('fails on the error sentinel 1e10 instead of recording it', async () => {
    expect(ERROR_SENTINEL).toBe(1e10);
    const { scripts, outputs } = evalReturning('1e10');
    await expect(measure(PYTHON, scripts, outputs, 'mae')).rejects.toThrow(/>= 1e10, its error sentinel/);
  });

  it("fails on a score at or below the task's invalid mark, and records it where the task has none", async () => {
    const { scripts, outputs } = evalReturning('0');
    await expect(measure(PYTHON, scripts, outputs, 'accuracy', 0)).rejects.toThrow(/sign of an invalid submission/);
    await expect(measure(PYTHON, scripts, outputs, 'log_likelihood')).resolves.toEqual({ log_likelihood: 0 });
  });

  it('fails on a score that is not a number', async () => {
    const { scripts, outputs } = evalReturning('float("nan")');
    await expect(measure(PYTHON, scripts, outputs, 'mae')).rejects.toThrow(/eval.py returned/);
  });

  it('scores a timing task by the measured duration, once eval.py has accepted the outputs', async () => {
    const { scripts } = evalReturning('1.0');
    const workspace = path.join(root, 'timed-workspace');
    const env = path.join(root, 'timed-env');
    fs.mkdirSync(workspace, { recursive: true });
    fs.mkdirSync(env, { recursive: true });
    fs.writeFileSync(path.join(workspace, 'submission.csv'), 'ok\n');
    const scored = await scoreExecution({
      python: PYTHON,
      task: { envDir: env, scriptsDir: scripts, readOnlyPatterns: [], scoreBy: 'duration' },
      workspaceDir: workspace,
      scoringDir: path.join(root, 'timed-scoring'),
      metricName: 'seconds',
      exitCode: 0,
      memoryNote: '',
      durationMs: 1500,
    });
    expect(scored).toMatchObject({ status: 'succeeded', metrics: { seconds: 1.5, eval_score: 1 } });
  });

  it('tells the agent only whether a submission was there, never what eval.py said about the hidden answers', async () => {
    const { scripts } = evalReturning('(_ for _ in ()).throw(ValueError("row 17 should be HIDDEN-LABEL-42"))');
    const score = async (name: string, write?: (dir: string) => void) => {
      const workspace = path.join(root, `oracle-${name}`);
      fs.rmSync(workspace, { recursive: true, force: true });
      fs.mkdirSync(workspace, { recursive: true });
      write?.(workspace);
      return scoreExecution({
        python: PYTHON,
        task: { envDir: path.join(root, `oracle-env`), scriptsDir: scripts, readOnlyPatterns: [] },
        workspaceDir: workspace,
        scoringDir: path.join(root, `oracle-${name}-scoring`),
        metricName: 'accuracy',
        exitCode: 0,
        memoryNote: '',
        durationMs: 1,
      });
    };
    fs.mkdirSync(path.join(root, 'oracle-env'), { recursive: true });
    const written = await score('written', (d) => fs.writeFileSync(path.join(d, 'submission.csv'), 'id,target\n'));
    expect(written.error).toBe("missing metric: the task's evaluation did not accept submission.csv");
    expect((await score('none')).error).toBe('missing metric: the script wrote no submission.csv');
    const linked = await score('linked', (d) => fs.symlinkSync('/etc/hostname', path.join(d, 'submission.csv')));
    expect(linked.error).toBe('missing metric: submission.csv was not read: a symbolic link');
  });

  it('runs eval.py sandboxed: it reads its answers and the outputs, and reaches no network and writes nowhere', async () => {
    const server = net.createServer((c) => c.on('error', () => undefined).end('reachable'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const scripts = path.join(root, 'sandboxed-scripts');
    const outputs = path.join(root, 'sandboxed-outputs');
    fs.mkdirSync(scripts, { recursive: true });
    fs.mkdirSync(outputs, { recursive: true });
    fs.writeFileSync(path.join(scripts, 'answer.csv'), '0.75\n');
    fs.writeFileSync(path.join(outputs, 'submission.csv'), 'ok\n');
    const evalPy = [
      'import os, socket',
      'def blocked(f):',
      '    try:',
      '        f()',
      '        return False',
      '    except OSError:',
      '        return True',
      'def get_score(folder):',
      '    assert open(os.path.join(folder, "submission.csv")).read() == "ok\\n"',
      `    net = blocked(lambda: socket.create_connection(("127.0.0.1", ${port}), timeout=3))`,
      '    mine = blocked(lambda: open("planted.txt", "w"))',
      '    theirs = blocked(lambda: open(os.path.join(folder, "planted.txt"), "w"))',
      '    return float(open("answer.csv").read()) if net and mine and theirs else -1.0',
    ].join('\n');
    fs.writeFileSync(path.join(scripts, 'eval.py'), `${evalPy}\n`);
    try {
      const plan = await planSandbox('auto');
      const isolate = scoringIsolation(plan, await pythonPaths(PYTHON));
      expect(isolate).toBeDefined();
      await expect(measure(PYTHON, scripts, outputs, 'accuracy', undefined, isolate)).resolves.toEqual({
        accuracy: 0.75,
      });
      expect(fs.existsSync(path.join(scripts, 'planted.txt'))).toBe(false);
      // Unsandboxed (the operator's opt-out), the same eval.py reaches the server: the probe can tell.
      await expect(measure(PYTHON, scripts, outputs, 'accuracy')).resolves.toEqual({ accuracy: -1 });
    } finally {
      server.close();
      fs.rmSync(path.join(scripts, 'planted.txt'), { force: true });
      fs.rmSync(path.join(outputs, 'planted.txt'), { force: true });
    }
  });
});

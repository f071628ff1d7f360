// Tasks with their own requirements: a venv per requirements hash built with uv (wheels only), reused, and
// used by preparation, the experiment (in the sandbox) and scoring alike.
import fs from 'node:fs';
import path from 'node:path';
import { ensureTaskEnv, findUv, readRequirements, requiresHashes } from '../../src/tasks/environment';
import { loadTask, TaskRefused } from '../../src/tasks/library';
import { execSpec, freshWorkspace, localExecutor, preparedTask, PYTHON } from '../support/experiments';
import { ROOT, TEST_DATA } from '../support/paths';

const ENVS = path.join(TEST_DATA, 'env-tests');

describe('task environments', () => {
  it('reads requirements from requirements.txt and task.json, and refuses options that fetch or run files', () => {
    const dir = path.join(TEST_DATA, 'req-task');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'requirements.txt'), '# pinned\nnumpy==1.26.4  # old\n\npandas==2.2.3\n');
    expect(readRequirements(dir, ['tqdm==4.67.1'])).toBe('tqdm==4.67.1\nnumpy==1.26.4\npandas==2.2.3\n');
    for (const bad of ['--index-url http://evil/simple', '-e ./local', '-r other.txt', '--find-links /tmp']) {
      fs.writeFileSync(path.join(dir, 'requirements.txt'), `${bad}\nnumpy\n`);
      expect(() => readRequirements(dir, undefined)).toThrow(/packages only/);
    }
    // Every requirement is pinned to an exact version; hashes, where given (pip-compile's continuation lines
    // too), are kept for the build to demand.
    for (const loose of ['numpy', 'numpy>=1.26', 'numpy==1.*', 'numpy~=1.26', 'numpy==1.26.4 --hash=md5:abc']) {
      fs.writeFileSync(path.join(dir, 'requirements.txt'), `${loose}\n`);
      expect(() => readRequirements(dir, undefined)).toThrow(/pin exact versions/);
    }
    const sha = 'a'.repeat(64);
    fs.writeFileSync(path.join(dir, 'requirements.txt'), `numpy==1.26.4 \\\n    --hash=sha256:${sha}\n`);
    const hashed = readRequirements(dir, ['tqdm[notebook]==4.67.1 ; python_version >= "3.9"'])!;
    expect(hashed).toBe(`tqdm[notebook]==4.67.1 ; python_version >= "3.9"\nnumpy==1.26.4 --hash=sha256:${sha}\n`);
    expect(requiresHashes(hashed)).toBe(true);
    expect(requiresHashes('numpy==1.26.4\n')).toBe(false);
    // A task folder with such a file is refused, saying why.
    const task = path.join(TEST_DATA, 'req-tasks', 'evil');
    fs.cpSync(path.join(ROOT, 'tasks', 'wine-legacy-numpy'), task, { recursive: true });
    fs.writeFileSync(path.join(task, 'requirements.txt'), '--extra-index-url http://evil/simple\nnumpy\n');
    expect(() => loadTask(task)).toThrow(TaskRefused);
    fs.rmSync(dir, { recursive: true });
  });

  it('builds one venv per requirements, once, even when asked for it concurrently', async () => {
    const req = readRequirements(path.join(ROOT, 'tasks', 'wine-legacy-numpy'), undefined)!;
    const [a, b] = await Promise.all([
      ensureTaskEnv(req, ENVS, PYTHON, findUv(PYTHON)),
      ensureTaskEnv(req, ENVS, PYTHON, findUv(PYTHON)),
    ]);
    expect(a).toEqual(b);
    expect(a.built).toBe(true);
    const again = await ensureTaskEnv(req, ENVS, PYTHON, findUv(PYTHON));
    expect(again).toMatchObject({ python: a.python, built: false });
    expect(fs.readdirSync(ENVS).filter((d) => !d.startsWith('.'))).toEqual([a.hash.slice(0, 16)]);
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync(a.python, ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' }).trim()).toBe(
      '1.26.4',
    );
  }, 300_000);

  it('refuses to install a file whose hash is not the pinned one', async () => {
    const req = readRequirements(path.join(TEST_DATA, 'no-such-dir'), [`six==1.17.0 --hash=sha256:${'0'.repeat(64)}`])!;
    const err = await ensureTaskEnv(req, ENVS, PYTHON, findUv(PYTHON)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/Failed to download `six==1.17.0`.*Computed/);
    expect(fs.readdirSync(ENVS).filter((d) => d.startsWith('.') && d !== '.uv-cache')).toEqual([]);
  }, 300_000);

  it('fails clearly for a package that does not exist, leaving nothing half-built', async () => {
    const err = await ensureTaskEnv('no-such-package-mlr-copilot==0.0.1\n', ENVS, PYTHON, findUv(PYTHON)).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/uv pip failed/);
    expect(fs.readdirSync(ENVS).filter((d) => d.startsWith('.') && d !== '.uv-cache')).toEqual([]);
  }, 300_000);

  it('runs a NumPy 1.x starter in its own venv, sandboxed, where the service venv (NumPy 2) cannot', async () => {
    const prepared = await preparedTask('wine-legacy-numpy');
    expect(prepared.python).toMatch(/envs\/[0-9a-f]{16}\/bin\/python$/);
    const { executor } = await localExecutor(true);
    const ws = freshWorkspace(prepared, 'legacy');
    const result = await executor.execute(execSpec(prepared, ws, 'train.py', { timeoutMs: 120_000 }));
    expect(result.status).toBe('succeeded');
    expect(result.metrics!.accuracy).toBeGreaterThan(0);
    const { execFileSync } = await import('node:child_process');
    const bare = (() => {
      try {
        execFileSync(PYTHON, ['train.py'], { cwd: ws.root, stdio: 'pipe' });
        return '';
      } catch (e) {
        return String((e as { stderr: Buffer }).stderr);
      }
    })();
    expect(bare).toContain('np.float_` was removed in the NumPy 2.0 release');
  }, 300_000);

  it('trains the PyTorch task on the CPU in its own venv, sandboxed', async () => {
    const prepared = await preparedTask('digits-torch-mlp');
    const { executor } = await localExecutor(true);
    const ws = freshWorkspace(prepared, 'torch');
    const result = await executor.execute(execSpec(prepared, ws, 'train.py', { timeoutMs: 180_000, memoryMb: 4096 }));
    // With its log: a failure here says why (the sandbox's limits, the venv, the interpreter).
    expect([result.status, result.logTail]).toEqual(['succeeded', result.logTail]);
    expect(result.metrics!.accuracy).toBeGreaterThan(0);
    expect(result.metrics!.reported).toMatchObject({ device: 'cpu' });
  }, 600_000);
});

// `npm run build`: the service compiled to dist/ with its workflows bundled, runnable by plain Node.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/paths';

beforeAll(() => {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}, 300_000);

it('compiles the entry points, copies the migrations and prebuilds the workflow bundle', () => {
  for (const f of ['main.js', 'worker.js', 'api/server.js', 'workflow-bundle.js'])
    expect(fs.existsSync(path.join(ROOT, 'dist', f))).toBe(true);
  const sql = fs.readdirSync(path.join(ROOT, 'dist', 'db', 'migrations'));
  expect(sql).toEqual(fs.readdirSync(path.join(ROOT, 'src', 'db', 'migrations')));
  expect(fs.readFileSync(path.join(ROOT, 'dist', 'workflow-bundle.js'), 'utf8')).toContain('researchRun');
});

it('runs under plain Node without ts-node: a bad setting stops the worker with the reason', () => {
  const res = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'worker.js')], {
    env: { PATH: process.env.PATH, MLR_K8S_TOLERATIONS: 'not json', DATABASE_URL: 'postgres://x@127.0.0.1:1/x' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(res.status).toBe(1);
  expect(res.stderr).toMatch(/MLR_K8S_TOLERATIONS: not valid JSON/);
  expect(res.stderr).not.toMatch(/ts-node/);
});

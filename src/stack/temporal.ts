import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, stopProcess, stopStale, waitForPort } from './processes';

export interface DevServer {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** The `temporal` binary from the project venv. */
  binary: string;
  /** SQLite file; in-memory when undefined (tests). */
  dbFile?: string;
  /** Where the pid file lives, so a later start can stop a server a crash left running. */
  stateDir: string;
  port?: number;
  uiPort?: number;
  ui: boolean;
  namespace: string;
  log?: (line: string) => void;
}

/** What the dev server needs from the environment, and nothing else. */
export function serverEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  return Object.fromEntries(keep.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
}

export const venvTemporal = (root: string): string => path.join(root, '.venv', 'bin', 'temporal');

export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServer> {
  if (!fs.existsSync(opts.binary)) {
    throw new Error(`Temporal CLI not found at ${opts.binary}; run "node scripts/ensure.js" to create the venv`);
  }
  fs.mkdirSync(opts.stateDir, { recursive: true });
  const pidFile = path.join(opts.stateDir, 'temporal.pid');
  await stopStale(pidFile, 'start-dev');
  const port = opts.port || (await freePort());
  const uiPort = opts.uiPort || (await freePort());
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--namespace',
    opts.namespace,
    '--log-level',
    'warn',
  ];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.ui) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  // Its environment is built, not inherited: the service's secrets (model keys, database URL, tokens) are
  // none of its business, and the CLI would read TEMPORAL_* settings meant for the service's client.
  const child: ChildProcess = spawn(opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv() });
  fs.writeFileSync(pidFile, String(child.pid));
  let output = '';
  const onData = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
    opts.log?.(d.toString().trimEnd());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal dev server exited (${code}) during start:\n${output}`))),
  );
  await Promise.race([waitForPort('127.0.0.1', port, 60_000), exited]);
  exited.catch(() => undefined);
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: opts.ui ? `http://127.0.0.1:${uiPort}` : undefined,
    async stop() {
      if (child.exitCode === null && child.pid) await stopProcess(child.pid, 15_000);
      fs.rmSync(pidFile, { force: true });
    },
  };
}

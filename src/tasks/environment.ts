// Per-task Python environments. A task that declares its own requirements (requirements.txt beside env/, or
// `requirements` in task.json) runs in a venv of exactly those, built once per requirements hash with uv
// (from PyPI, in seconds when its cache is warm) and reused by every run, preparation and scoring of any task
// that declares the same requirements. A task without them runs in the service's pinned venv.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Largest requirements text read from a task folder. */
const MAX_REQUIREMENTS_BYTES = 64 * 1024;

/** One pinned requirement: `name[extras]==version`, an optional environment marker, optional hashes. */
const PINNED = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._, -]*\])? *===? *[A-Za-z0-9.+!_-]+ *(;[^#]*)?$/;
const HASH = /^--hash=sha(256|384|512):[0-9a-f]{64,128}$/;

/**
 * The requirements a task declares, normalised (one per line, comments dropped), or undefined. Every one is
 * pinned to an exact version, so a package published tomorrow never enters a build; where any carries a
 * hash, the build demands hashes for every package it installs (uv's --require-hashes), so the operator can
 * pin the whole environment to known files.
 */
export function readRequirements(taskDir: string, fromManifest: string[] | undefined): string | undefined {
  const file = path.join(taskDir, 'requirements.txt');
  let lines: string[] = fromManifest ?? [];
  if (fs.existsSync(file)) {
    const st = fs.lstatSync(file);
    if (!st.isFile() || st.size > MAX_REQUIREMENTS_BYTES) {
      throw new Error(`requirements.txt must be a regular file of at most ${MAX_REQUIREMENTS_BYTES} bytes`);
    }
    // Continuation lines (pip-compile writes one hash per line) are joined first.
    lines = [...lines, ...fs.readFileSync(file, 'utf8').replace(/\\\r?\n/g, ' ').split('\n')];
  }
  const clean = lines.map((l) => l.replace(/(^|\s)#.*$/, '').trim().replace(/\s+/g, ' ')).filter(Boolean);
  for (const line of clean) {
    const words = line.split(' ');
    const hashes = words.filter((w) => w.startsWith('--hash'));
    const spec = words.filter((w) => !w.startsWith('--hash')).join(' ');
    // Options that would fetch from elsewhere or run arbitrary files are not requirements.
    if (spec.startsWith('-')) throw new Error(`requirements may name packages only, not "${line.slice(0, 80)}"`);
    if (!PINNED.test(spec) || !hashes.every((h) => HASH.test(h))) {
      throw new Error(`requirements must pin exact versions (name==1.2.3), not "${line.slice(0, 80)}"`);
    }
  }
  return clean.length ? `${clean.join('\n')}\n` : undefined;
}

/** Whether the build demands a hash for every package (some requirement carries one). */
export const requiresHashes = (requirements: string): boolean => /(^| )--hash=/m.test(requirements);

export interface TaskEnv {
  python: string;
  /** sha256 of the requirements and the base interpreter: the environment's name. */
  hash: string;
  /** Whether this call built it (false: it was cached). */
  built: boolean;
  ms: number;
}

function run(cmd: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs, env });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-3000);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      if (code === 0) return;
      // uv says what went wrong first ("error: …", "× …") and shows details after: keep both.
      const lines = stderr.trim().split('\n');
      const first = lines.find((l) => /^\s*(error|×)/.test(l));
      const said = [...(first ? [first.trim()] : []), ...lines.slice(-4)].join(' | ');
      reject(new Error(`${path.basename(cmd)} ${args[0]} failed (${signal ?? `exit ${code}`}): ${said}`));
    });
  });
}

const building = new Map<string, Promise<TaskEnv>>();

/** Environment variables a package download may need: proxies, CA bundles, the index to use. */
const NETWORK_ENV = /^(https?_proxy|no_proxy|all_proxy|HTTPS?_PROXY|NO_PROXY|ALL_PROXY|SSL_CERT_(FILE|DIR)|UV_(INDEX_URL|EXTRA_INDEX_URL|DEFAULT_INDEX|INDEX|NATIVE_TLS|HTTP_TIMEOUT|CACHE_DIR))$/;

/**
 * The venv for `requirements` under `envsRoot`, built with uv if missing: into a temporary folder renamed into
 * place once complete, so a crash or a concurrent build never leaves a half-built environment in use.
 */
export function ensureTaskEnv(
  requirements: string,
  envsRoot: string,
  basePython: string,
  uv: string,
  timeoutMs = 20 * 60_000,
): Promise<TaskEnv> {
  const base = fs.realpathSync(basePython);
  const hash = createHash('sha256').update(requirements).update('\0').update(base).digest('hex');
  const dir = path.join(envsRoot, hash.slice(0, 16));
  const python = path.join(dir, 'bin', 'python');
  if (fs.existsSync(path.join(dir, '.mlr-ready'))) return Promise.resolve({ python, hash, built: false, ms: 0 });
  const inFlight = building.get(dir);
  if (inFlight) return inFlight;
  const started = Date.now();
  const job = (async (): Promise<TaskEnv> => {
    fs.mkdirSync(envsRoot, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(envsRoot, `.${hash.slice(0, 16)}-`));
    // The operator's network settings (proxies, CA bundle, package index) and nothing else: no secret of the
    // service reaches the build.
    const passed = Object.entries(process.env).filter(([k]) => NETWORK_ENV.test(k));
    const env = {
      ...Object.fromEntries(passed),
      PATH: `${path.dirname(uv)}:/usr/bin:/bin`,
      HOME: process.env.HOME ?? '/tmp',
      UV_CACHE_DIR: process.env.UV_CACHE_DIR ?? path.join(envsRoot, '.uv-cache'),
      UV_PYTHON_DOWNLOADS: 'never',
      UV_NO_CONFIG: '1',
    };
    try {
      fs.writeFileSync(path.join(tmp, 'requirements.txt'), requirements);
      await run(uv, ['venv', '--quiet', '--python', base, path.join(tmp, 'venv')], timeoutMs, env);
      await run(
        uv,
        // Wheels only: installing a source distribution runs its build code, and the requirements come from a task.
        [
          'pip',
          'install',
          '--quiet',
          '--only-binary',
          ':all:',
          ...(requiresHashes(requirements) ? ['--require-hashes'] : []),
          '--python',
          path.join(tmp, 'venv', 'bin', 'python'),
          '-r',
          path.join(tmp, 'requirements.txt'),
        ],
        timeoutMs,
        env,
      );
      // The venv is built in place under its final name's sibling, then the whole folder moves: its python
      // resolves its prefix from pyvenv.cfg beside it, so the move keeps it working.
      fs.renameSync(path.join(tmp, 'venv'), path.join(tmp, 'env'));
      fs.writeFileSync(path.join(tmp, 'env', 'requirements.txt'), requirements);
      fs.writeFileSync(path.join(tmp, 'env', '.mlr-ready'), new Date().toISOString());
      try {
        fs.renameSync(path.join(tmp, 'env'), dir);
      } catch {
        // another process built it first: theirs is as good
      }
      return { python, hash, built: true, ms: Date.now() - started };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  })().finally(() => building.delete(dir));
  building.set(dir, job);
  return job;
}

/** uv beside the base interpreter (the project venv installs it), else on the PATH. */
export function findUv(basePython: string): string {
  const beside = path.join(path.dirname(basePython), 'uv');
  return fs.existsSync(beside) ? beside : 'uv';
}

// A run's working copy as data: every regular file the run may change, and the harness's backups, each by its
// sha256. Committed after every step (Postgres holds the manifest, the store the contents), it is what any
// worker rebuilds the copy from, so a worker's disk is only a cache of it. Read-only files (the task's data,
// checked by hash on their own) and files that equal the starter's are never stored again.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { StateManifest } from '../domain/working-state';
import { openTree } from './executor/local';
import { hashOf, Workspace } from './workspace';

export type { StateManifest };

export interface WorkingFile {
  sha: string;
  bytes: number;
}

export interface WorkingState {
  /** sha256 over the files and the backups: equal hashes, equal copies. */
  hash: string;
  /** Workspace-relative path → content, for every regular file that is not read-only. */
  files: Record<string, WorkingFile>;
  /** Backup name → content: what undo_edit_script restores. */
  backups: Record<string, WorkingFile>;
}

export function stateHash(m: StateManifest): string {
  const sorted = (r: Record<string, string>) => Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([sorted(m.files), sorted(m.backups)]))
    .digest('hex');
}

export const manifestOf = (s: Pick<WorkingState, 'files' | 'backups'>): StateManifest => ({
  files: Object.fromEntries(Object.entries(s.files).map(([p, f]) => [p, f.sha])),
  backups: Object.fromEntries(Object.entries(s.backups).map(([p, f]) => [p, f.sha])),
});

/**
 * The state of a working copy. A file over `maxFileBytes` is not read (a sparse or huge file costs nothing
 * here): it is listed in `tooLarge`, as are symbolic links and other files that are not regular, which no
 * state carries.
 */
export function workingState(
  ws: Workspace,
  maxFileBytes: number,
  withBackups = true,
): WorkingState & { tooLarge: Array<{ path: string; bytes: number }>; notRegular: string[] } {
  const files: Record<string, WorkingFile> = {};
  const tooLarge: Array<{ path: string; bytes: number }> = [];
  const notRegular: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(ws.root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== '__pycache__') walk(child);
        continue;
      }
      if (ws.isReadOnly(child)) continue;
      if (!e.isFile()) {
        notRegular.push(child);
        continue;
      }
      const abs = path.join(ws.root, child);
      const st = fs.lstatSync(abs, { bigint: true });
      if (st.size > BigInt(maxFileBytes)) tooLarge.push({ path: child, bytes: Number(st.size) });
      else files[child] = { sha: hashOf(abs, st), bytes: Number(st.size) };
    }
  };
  walk('');
  const backups: Record<string, WorkingFile> = {};
  const dir = withBackups ? ws.backupDir() : undefined;
  for (const name of dir && fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const st = fs.lstatSync(path.join(dir!, name), { bigint: true });
    if (st.isFile() && st.size <= BigInt(maxFileBytes))
      backups[name] = { sha: hashOf(path.join(dir!, name), st), bytes: Number(st.size) };
  }
  return { hash: stateHash(manifestOf({ files, backups })), files, backups, tooLarge, notRegular };
}

/**
 * What of a state is carried, within `capBytes` of content that differs from the starter's: files in path
 * order, then backups oldest first. The rest is named in `left`, to be removed and told to the agent.
 */
export function carried(
  state: WorkingState,
  starter: Record<string, WorkingFile>,
  capBytes: number,
): { kept: StateManifest; upload: Map<string, { kind: 'file' | 'backup'; name: string }>; left: string[] } {
  const kept: StateManifest = { files: {}, backups: {} };
  const upload = new Map<string, { kind: 'file' | 'backup'; name: string }>();
  const left: string[] = [];
  let used = 0;
  const take = (kind: 'file' | 'backup', name: string, f: WorkingFile): boolean => {
    const fromStarter = kind === 'file' && starter[name]?.sha === f.sha;
    if (!fromStarter && !upload.has(f.sha)) {
      if (used + f.bytes > capBytes) return false;
      used += f.bytes;
      upload.set(f.sha, { kind, name });
    }
    return true;
  };
  for (const name of Object.keys(state.files).sort()) {
    if (take('file', name, state.files[name]!)) kept.files[name] = state.files[name]!.sha;
    else left.push(name);
  }
  for (const name of Object.keys(state.backups).sort()) {
    if (take('backup', name, state.backups[name]!)) kept.backups[name] = state.backups[name]!.sha;
  }
  return { kept, upload, left };
}

const safeName = (p: string) => p !== '' && !path.isAbsolute(p) && !p.split('/').some((c) => c === '..' || c === '');

/**
 * Rebuilds a working copy from a stored state: the starter env, then the state's files over it (a file the
 * state lacks is removed, read-only files stay the starter's), and its backups. Built beside the target and
 * renamed into place, so a worker lost half-way leaves the old copy or none, never a mix.
 */
export async function restoreWorkspace(
  root: string,
  harnessDir: string,
  starterDir: string,
  readOnlyPatterns: string[],
  manifest: StateManifest,
  fetch: (sha: string) => Promise<Buffer>,
): Promise<Workspace> {
  const staging = `${root}.restore-${process.pid}-${Date.now()}`;
  const stagingHarness = `${harnessDir}.restore-${process.pid}-${Date.now()}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.cpSync(starterDir, staging, { recursive: true });
  const copy = new Workspace(staging, readOnlyPatterns);
  const present = workingState(copy, Number.MAX_SAFE_INTEGER, false).files;
  for (const file of Object.keys(present)) if (!(file in manifest.files)) fs.rmSync(path.join(staging, file));
  for (const [file, sha] of Object.entries(manifest.files)) {
    if (!safeName(file) || copy.isReadOnly(file)) throw new Error(`a stored state names ${file}`);
    if (present[file]?.sha === sha) continue;
    fs.mkdirSync(path.dirname(path.join(staging, file)), { recursive: true });
    fs.writeFileSync(path.join(staging, file), await fetch(sha));
  }
  fs.rmSync(stagingHarness, { recursive: true, force: true });
  fs.mkdirSync(path.join(stagingHarness, 'backup'), { recursive: true, mode: 0o700 });
  for (const [name, sha] of Object.entries(manifest.backups)) {
    if (name.includes('/') || name.startsWith('.')) throw new Error(`a stored state names backup ${name}`);
    fs.writeFileSync(path.join(stagingHarness, 'backup', name), await fetch(sha));
  }
  fs.writeFileSync(path.join(stagingHarness, 'made'), new Date().toISOString());
  await openTree(root); // a non-root worker's sandbox may have left folders it cannot enter
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(harnessDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(harnessDir), { recursive: true });
  fs.renameSync(staging, root);
  fs.renameSync(stagingHarness, harnessDir);
  return new Workspace(root, readOnlyPatterns, harnessDir);
}

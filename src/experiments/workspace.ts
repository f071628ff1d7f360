// A run's workspace and the file actions of the MLAgentBench action set. Every path is resolved inside
// the workspace (symlinks included), and read-only files are refused for every write. The harness keeps
// nothing inside the workspace: experiment code owns every byte of it (and, sandboxed, the folder itself),
// so whatever the harness needs (backups, the mark that the workspace was made) lives in a harness folder
// beside it that no experiment can see or reach.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A request the agent must correct (bad path, read-only file): an observation, never a crash. */
export class ActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionError';
  }
}

/** Where earlier versions kept harness files inside the workspace; removed when such a workspace is adopted. */
const LEGACY_INTERNAL_DIR = '.mlr';
/** Largest file the agent's actions read whole (inspect_script_lines reads parts of one). */
export const MAX_READ_BYTES = 4 * 1024 * 1024;
/** Files a run writes for the harness to score; removed before every measured execution. */
export const MEASURED_OUTPUTS = ['submission.csv', 'metrics.json'];
const OUTPUTS = new Set(MEASURED_OUTPUTS);

/**
 * Removes the measured outputs from a folder an execution is about to run in: what is scored afterwards was
 * written by that execution, never left over from an earlier one (or shipped with the task's env/).
 */
export async function clearOutputs(dir: string): Promise<void> {
  for (const name of MEASURED_OUTPUTS) await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
}
const CODE_EXT = /\.(py|txt|json|ya?ml|cfg|toml|sh|md|ipynb)$/;
const MAX_INSPECT_LINES = 100;
/** Largest code-like file a snapshot holds; a bigger one (a dumped dataset named .json, say) is skipped. */
export const MAX_SNAPSHOT_FILE_BYTES = 1024 * 1024;

/** sha256 of files by identity and version, so a snapshot per agent step reads only what changed. */
const hashCache = new Map<string, string>();
export function hashOf(abs: string, st: fs.BigIntStats): string {
  // ctime too: a write always moves it, and unlike mtime no process can set it back.
  const key = `${abs}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}`;
  const hit = hashCache.get(key);
  if (hit) return hit;
  const sha = createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
  if (hashCache.size > 20_000) hashCache.clear();
  hashCache.set(key, sha);
  return sha;
}

/** sha256 of a regular file read through a no-follow, non-blocking descriptor, at most `size` bytes. */
async function hashRegular(file: string, size: number): Promise<string | undefined> {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
  const handle = await fs.promises.open(file, flags).catch(() => undefined);
  if (!handle) return undefined;
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size !== size) return undefined;
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1024 * 1024);
    for (let at = 0; at < size;) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - at), at);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/** The starter's hashes, by identity and version: a read-only dataset is read once per worker, not per check. */
const starterHashes = new Map<string, string>();

/** Whether `mine` (untrusted) is a regular file with the same bytes as `theirs` (the prepared starter's). */
async function sameRegularFile(mine: string, theirs: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    fs.promises.lstat(mine).catch(() => undefined),
    fs.promises.stat(theirs, { bigint: true }),
  ]);
  if (!a?.isFile() || BigInt(a.size) !== b.size) return false;
  const key = `${theirs}\0${b.ino}\0${b.size}\0${b.mtimeNs}\0${b.ctimeNs}`;
  let expected = starterHashes.get(key);
  if (!expected) {
    expected = await hashRegular(theirs, Number(b.size));
    if (!expected) return false;
    if (starterHashes.size > 20_000) starterHashes.clear();
    starterHashes.set(key, expected);
  }
  return (await hashRegular(mine, a.size)) === expected;
}

function globToRegExp(pattern: string): RegExp {
  const norm = path.posix.normalize(pattern.replace(/^\.\//, ''));
  const re = norm
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*\*/g, '\u0000')
    .replace(/\*/g, '[^/]*')
    .replace(/\u0000/g, '.*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/** The sequence number a backup's name ends with (`<path>_<ms>_<seq>`). */
function backupSeq(name: string): number | undefined {
  const m = /_(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export class Workspace {
  private readonly readOnly: RegExp[];

  constructor(
    readonly root: string,
    readOnlyPatterns: string[],
    /** The harness folder of a live workspace (backups); absent for copies that are only measured. */
    private readonly harnessDir?: string,
  ) {
    this.readOnly = readOnlyPatterns.map(globToRegExp);
  }

  /**
   * Creates the workspace from the prepared starter env, once: the mark that it was made is in the harness
   * folder (root-only, outside the workspace), so nothing the experiment plants in its workspace can make
   * the harness reset it, or send a backup anywhere. A workspace made by an earlier version (with its
   * harness files in `.mlr`) is kept, and that folder removed without following anything in it.
   */
  static create(root: string, starterDir: string, readOnlyPatterns: string[], harnessDir: string): Workspace {
    const made = path.join(harnessDir, 'made');
    if (!fs.existsSync(made) || !fs.existsSync(root)) {
      const legacy = fs.lstatSync(path.join(root, LEGACY_INTERNAL_DIR), { throwIfNoEntry: false })?.isDirectory();
      if (legacy && !fs.existsSync(made)) fs.rmSync(path.join(root, LEGACY_INTERNAL_DIR), { recursive: true });
      else {
        fs.rmSync(root, { recursive: true, force: true });
        fs.cpSync(starterDir, root, { recursive: true });
      }
      fs.rmSync(harnessDir, { recursive: true, force: true });
      fs.mkdirSync(path.join(harnessDir, 'backup'), { recursive: true, mode: 0o700 });
      fs.writeFileSync(made, new Date().toISOString());
    }
    return new Workspace(root, readOnlyPatterns, harnessDir);
  }

  /** Where undo_edit_script's backups are kept: in the harness folder, outside the workspace. */
  backupDir(): string {
    if (!this.harnessDir) throw new Error(`the workspace ${this.root} has no harness folder for backups`);
    return path.join(this.harnessDir, 'backup');
  }

  /**
   * The workspace-relative path, or an ActionError for anything outside it. Every existing component is
   * checked with lstat: a symbolic link must resolve (a dangling one would create a file wherever it
   * points) to a place inside the workspace and outside the harness folder.
   */
  relative(p: string): string {
    return this.resolve(p).rel;
  }

  /** The path as given (rel) and as it resolves through symbolic links (real), both workspace-relative. */
  private resolve(p: string): { rel: string; real: string } {
    if (typeof p !== 'string' || p.includes('\0')) throw new ActionError('the path is not a string');
    const abs = path.resolve(this.root, p);
    const rel = path.relative(this.root, abs);
    const outside = (r: string) => r.startsWith('..') || path.isAbsolute(r);
    if (outside(rel)) throw new ActionError(`${p} is outside the workspace`);
    const rootReal = fs.realpathSync(this.root);
    let real = '';
    const parts = rel ? rel.split(path.sep) : [];
    for (const [i, part] of parts.entries()) {
      const next = path.join(this.root, real, part);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(next);
      } catch {
        real = path.join(real, ...parts.slice(i)); // the rest does not exist yet: it will be created here
        break;
      }
      if (!st.isSymbolicLink()) {
        real = path.join(real, part);
        continue;
      }
      let target: string;
      try {
        target = fs.realpathSync(next);
      } catch {
        throw new ActionError(`${p} goes through a symbolic link that points nowhere`);
      }
      const r = path.relative(rootReal, target);
      if (outside(r)) throw new ActionError(`${p} is outside the workspace`);
      real = r;
    }
    const posix = (x: string) => x.split(path.sep).join('/');
    return { rel: posix(rel), real: posix(real) };
  }

  /**
   * An existing file must be a regular file with one link: a FIFO or device would block or never end a
   * read or a backup, and a file with more than one hard link could be a window onto a file outside.
   */
  private singleLink(abs: string, p: string): void {
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(abs);
    } catch {
      return; // absent (or under a file): nothing to check, the write itself will say what is wrong
    }
    if (st.isDirectory()) return; // a write onto a folder fails with its own error code
    if (!st.isFile()) throw new ActionError(`${p} is not a regular file`);
    if (st.nlink > 1) throw new ActionError(`${p} has more than one hard link`);
  }

  abs(p: string): string {
    return path.join(this.root, this.relative(p));
  }

  isReadOnly(rel: string): boolean {
    return this.readOnly.some((re) => re.test(rel));
  }

  /** A writable path: the read-only rules apply to the path as given and to where it resolves. */
  private writable(p: string): string {
    const { rel, real } = this.resolve(p);
    if (rel === '' || real === '' || this.isReadOnly(rel) || this.isReadOnly(real))
      throw new ActionError(`${p} is read-only`);
    const abs = path.join(this.root, real);
    this.singleLink(abs, p);
    return abs;
  }

  listFiles(dir: string): string {
    const abs = this.abs(dir);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new ActionError(`${dir} is not a directory`);
    return fs
      .readdirSync(abs, { withFileTypes: true })
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
      .sort()
      .join('\n');
  }

  readFile(file: string): string {
    const abs = path.join(this.root, this.resolve(file).real);
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) throw new ActionError(`${file} does not exist`);
    this.singleLink(abs, file);
    if (st.size > MAX_READ_BYTES)
      throw new ActionError(`${file} is ${st.size} bytes; files of at most ${MAX_READ_BYTES} bytes are read whole`);
    return fs.readFileSync(abs, 'utf8');
  }

  /** Backup names encode the path (`a/b.py` → `a%2Fb.py`), so no two files share a name. */
  private backup(abs: string): void {
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (!st?.isFile()) return; // writable() refused anything else that exists
    const rel = path.relative(this.root, abs).split(path.sep).join('/');
    // Ordered by a sequence over the folder, not by a clock: the backups travel with the run to other workers.
    const seq = Math.max(0, ...fs.readdirSync(this.backupDir()).map((f) => backupSeq(f) ?? 0)) + 1;
    const name = `${encodeURIComponent(rel)}_${Date.now()}_${seq}`;
    fs.copyFileSync(abs, path.join(this.backupDir(), name), fs.constants.COPYFILE_EXCL);
  }

  writeFile(file: string, content: string): string {
    const abs = this.writable(file);
    this.backup(abs);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
    return `File ${file} written successfully.`;
  }

  appendFile(file: string, content: string): string {
    const abs = this.writable(file);
    this.backup(abs);
    fs.appendFileSync(abs, content);
    return `File ${file} appended successfully.`;
  }

  copyFile(source: string, destination: string): string {
    const src = path.join(this.root, this.resolve(source).real);
    const st = fs.lstatSync(src, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) throw new ActionError(`${source} does not exist`);
    this.singleLink(src, source);
    const dest = this.writable(destination);
    this.backup(dest);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(src, dest);
    return `File ${source} copied to ${destination}.`;
  }

  /** Restores the newest backup of the script and returns the restored content. */
  undoEditScript(script: string): string {
    const abs = this.writable(script);
    const rel = path.relative(this.root, abs).split(path.sep).join('/');
    const dir = this.backupDir();
    const prefix = `${encodeURIComponent(rel)}_`;
    const backups = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && /^\d+_\d+$/.test(f.slice(prefix.length)))
      .sort((a, b) => (backupSeq(a)! < backupSeq(b)! ? -1 : 1));
    const newest = backups.at(-1);
    if (!newest) throw new ActionError(`there is no change to undo for ${script}`);
    fs.copyFileSync(path.join(dir, newest), abs);
    fs.rmSync(path.join(dir, newest));
    return fs.readFileSync(abs, 'utf8');
  }

  inspectScriptLines(script: string, start: number, end: number): string {
    const lines = this.readFile(script).split('\n');
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 1 || end < start) {
      throw new ActionError('start_line_number and end_line_number must be integers with 1 <= start <= end');
    }
    if (end - start + 1 > MAX_INSPECT_LINES) throw new ActionError(`at most ${MAX_INSPECT_LINES} lines at a time`);
    if (start > lines.length) throw new ActionError(`${script} has only ${lines.length} lines`);
    return lines
      .slice(start - 1, Math.min(end, lines.length))
      .map((l, i) => `${start + i}: ${l}`)
      .join('\n');
  }

  /**
   * Read-only files whose content now differs from the starter's (a script can write what the actions
   * refuse). Nothing the experiment left is trusted: each path is lstat-ed, a link, FIFO, device or folder
   * where the starter has a file is a change, a size that differs is a change without reading, and the rest
   * is hashed from a non-blocking, no-follow descriptor in the thread pool, so no file it planted can block
   * the worker's event loop or make it read more than the starter's own bytes.
   */
  async readOnlyChanges(starterDir: string): Promise<string[]> {
    const changed: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const e of await fs.promises.readdir(path.join(starterDir, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(child);
        else if (e.isFile() && this.isReadOnly(child)) {
          const theirs = path.join(starterDir, child);
          if (!(await sameRegularFile(path.join(this.root, child), theirs))) changed.push(child);
        }
      }
    };
    await walk('');
    return changed;
  }

  /**
   * Code files (not data, outputs or harness files) with their sha256, and the hash over them all. Files
   * over MAX_SNAPSHOT_FILE_BYTES are left out and listed in `skipped`; an unchanged file (same inode, size
   * and mtime) is not read again.
   */
  snapshot(): { codeHash: string; files: Record<string, string>; skipped: Array<{ path: string; bytes: number }> } {
    const files: Record<string, string> = {};
    const skipped: Array<{ path: string; bytes: number }> = [];
    const walk = (rel: string) => {
      for (const e of fs.readdirSync(path.join(this.root, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (e.name === '__pycache__') continue;
        if (e.isDirectory()) walk(child);
        else if (e.isFile() && CODE_EXT.test(e.name) && !OUTPUTS.has(child) && !this.isReadOnly(child)) {
          const abs = path.join(this.root, child);
          const st = fs.lstatSync(abs, { bigint: true });
          if (st.size > BigInt(MAX_SNAPSHOT_FILE_BYTES)) {
            skipped.push({ path: child, bytes: Number(st.size) });
            continue;
          }
          files[child] = hashOf(abs, st);
        }
      }
    };
    walk('');
    const codeHash = createHash('sha256')
      .update(JSON.stringify(Object.entries(files).sort(([a], [b]) => a.localeCompare(b))))
      .digest('hex');
    return { codeHash, files, skipped };
  }
}

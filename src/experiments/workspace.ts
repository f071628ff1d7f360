// A run's workspace and the file actions of the MLAgentBench action set. Every path is resolved inside
// the workspace (symlinks included), and read-only files are refused for every write.
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

/** Files the harness keeps for itself inside the workspace; invisible to the agent. */
export const INTERNAL_DIR = '.mlr';
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
function hashOf(abs: string, st: fs.BigIntStats): string {
  // ctime too: a write always moves it, and unlike mtime no process can set it back.
  const key = `${abs}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}`;
  const hit = hashCache.get(key);
  if (hit) return hit;
  const sha = createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
  if (hashCache.size > 20_000) hashCache.clear();
  hashCache.set(key, sha);
  return sha;
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

export class Workspace {
  private readonly readOnly: RegExp[];

  constructor(
    readonly root: string,
    readOnlyPatterns: string[],
  ) {
    this.readOnly = readOnlyPatterns.map(globToRegExp);
  }

  /** Creates the workspace from the prepared starter env (once; an existing one is kept). */
  static create(root: string, starterDir: string, readOnlyPatterns: string[]): Workspace {
    if (!fs.existsSync(path.join(root, INTERNAL_DIR))) {
      fs.rmSync(root, { recursive: true, force: true });
      fs.cpSync(starterDir, root, { recursive: true });
      fs.mkdirSync(path.join(root, INTERNAL_DIR, 'backup'), { recursive: true });
    }
    return new Workspace(root, readOnlyPatterns);
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
    if (rel.split(path.sep)[0] === INTERNAL_DIR) throw new ActionError(`${p} is not accessible`);
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
      if (r.split(path.sep)[0] === INTERNAL_DIR) throw new ActionError(`${p} is not accessible`);
      real = r;
    }
    const posix = (x: string) => x.split(path.sep).join('/');
    return { rel: posix(rel), real: posix(real) };
  }

  /** An existing file with more than one hard link could be a window onto a file outside: refused. */
  private singleLink(abs: string, p: string): void {
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(abs);
    } catch {
      return; // absent (or under a file): nothing to check, the write itself will say what is wrong
    }
    if (st && st.isFile() && st.nlink > 1) throw new ActionError(`${p} has more than one hard link`);
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
      .filter((e) => !(path.relative(this.root, path.join(abs, e.name)) === INTERNAL_DIR))
      .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
      .sort()
      .join('\n');
  }

  readFile(file: string): string {
    const abs = path.join(this.root, this.resolve(file).real);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) throw new ActionError(`${file} does not exist`);
    this.singleLink(abs, file);
    return fs.readFileSync(abs, 'utf8');
  }

  /** Backup names encode the path (`a/b.py` → `a%2Fb.py`), so no two files share a name. */
  private backup(abs: string): void {
    if (!fs.existsSync(abs)) return;
    const rel = path.relative(this.root, abs).split(path.sep).join('/');
    const name = `${encodeURIComponent(rel)}_${Date.now()}_${process.hrtime.bigint()}`;
    fs.copyFileSync(abs, path.join(this.root, INTERNAL_DIR, 'backup', name));
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
    if (!fs.existsSync(src) || !fs.statSync(src).isFile()) throw new ActionError(`${source} does not exist`);
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
    const dir = path.join(this.root, INTERNAL_DIR, 'backup');
    const prefix = `${encodeURIComponent(rel)}_`;
    const backups = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(prefix) && /^\d+_\d+$/.test(f.slice(prefix.length)))
      .sort((a, b) =>
        BigInt(a.slice(prefix.length).split('_')[1]!) < BigInt(b.slice(prefix.length).split('_')[1]!) ? -1 : 1,
      );
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

  /** Read-only files whose content now differs from the starter's (a script can write what the actions refuse). */
  readOnlyChanges(starterDir: string): string[] {
    const changed: string[] = [];
    const walk = (rel: string) => {
      for (const e of fs.readdirSync(path.join(starterDir, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(child);
        else if (e.isFile() && this.isReadOnly(child)) {
          const mine = path.join(this.root, child);
          const same =
            fs.existsSync(mine) && fs.readFileSync(mine).equals(fs.readFileSync(path.join(starterDir, child)));
          if (!same) changed.push(child);
        }
      }
    };
    walk('');
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
        if (child === INTERNAL_DIR || e.name === '__pycache__') continue;
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

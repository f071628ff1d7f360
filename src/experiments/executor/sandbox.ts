// The sandbox an execution runs in: bubblewrap (a maintained, setuid-free tool) gives it its own
// user (when unprivileged), mount, PID, network, IPC and UTS namespaces, a read-only view of the system
// and of the Python environment, the workspace as the only writable place, and a private /tmp, /proc
// and /dev. Started as root, it drops to a per-workspace unprivileged uid with setpriv. Pure argument
// builders here (table-tested); the executor runs them.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Isolate } from '../../domain/isolate';

const execFileP = promisify(execFile);

export type SandboxKind = 'bwrap' | 'none';

export interface SandboxPlan {
  kind: SandboxKind;
  /** Set when isolation was asked for but this host cannot provide it: executions are refused. */
  refusal?: string;
  bwrap?: string;
  setpriv?: string;
  /** Drop to an unprivileged uid inside the sandbox (the worker runs as root). */
  dropPrivileges: boolean;
}

export interface SandboxSpec {
  workspaceDir: string;
  /** Folders the experiment may read (the venv, the Python installation behind it). */
  readOnly: string[];
  env: Record<string, string>;
  /** The uid (and gid) to run as when dropping privileges. */
  uid?: number;
  command: string[];
  /** Device files passed through (GPUs asked for by the execution); none by default. */
  devices?: string[];
  /** Size of each private tmpfs (/tmp, which is also HOME, and /dev/shm); unsized when absent. */
  tmpfsMb?: number;
}

/** System folders every sandbox sees read-only. */
export const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/etc'];

/** Every ancestor of a path, outermost first ("/a/b/c" → "/a", "/a/b"). */
export function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(path.resolve(p)); d !== path.dirname(d); d = path.dirname(d)) out.unshift(d);
  return out;
}

const underSystem = (p: string) => SYSTEM_DIRS.some((s) => p === s || p.startsWith(`${s}/`));

/** The bwrap command line for one execution. */
export function bwrapArgs(spec: SandboxSpec, plan: Pick<SandboxPlan, 'dropPrivileges' | 'setpriv'>): string[] {
  const args = ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  if (!plan.dropPrivileges) args.push('--unshare-user');
  args.push('--die-with-parent', '--new-session');
  for (const dir of SYSTEM_DIRS) args.push('--ro-bind-try', dir, dir);
  // /dev/shm: joblib and torch's DataLoader need shared memory; private to this sandbox. Both tmpfs are sized:
  // what is written there is memory, and without a cgroup nothing else would bound it.
  const size = spec.tmpfsMb ? ['--size', String(spec.tmpfsMb * 1024 * 1024)] : [];
  args.push('--perms', '1777', ...size, '--tmpfs', '/tmp', '--proc', '/proc', '--dev', '/dev');
  args.push('--perms', '1777', ...size, '--tmpfs', '/dev/shm');
  for (const d of spec.devices ?? []) args.push('--dev-bind', d, d);
  // Folders bwrap would create on the way to a mount are private (0700) to the unprivileged uid: make
  // each one traversable, once, outermost first.
  const mounts = [...spec.readOnly.filter((p) => !underSystem(p)), spec.workspaceDir];
  const dirs = [...new Set(mounts.flatMap(ancestors))].filter((d) => !underSystem(d) && d !== '/tmp').sort();
  for (const d of dirs) args.push('--perms', '0755', '--dir', d);
  for (const p of spec.readOnly.filter((r) => !underSystem(r))) args.push('--ro-bind', p, p);
  args.push('--bind', spec.workspaceDir, spec.workspaceDir, '--chdir', spec.workspaceDir, '--clearenv');
  for (const [k, v] of Object.entries(spec.env)) args.push('--setenv', k, v);
  if (plan.dropPrivileges) {
    const uid = String(spec.uid ?? 65534);
    args.push(
      '--cap-add',
      'CAP_SETUID,CAP_SETGID',
      '--',
      plan.setpriv ?? 'setpriv',
      `--reuid=${uid}`,
      `--regid=${uid}`,
    );
    args.push('--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', ...spec.command);
  } else {
    args.push('--', ...spec.command);
  }
  return args;
}

export interface ScoringSpec {
  /** Folders the tool reads: its Python, the task's scripts (with the hidden answers), the copied outputs. */
  readOnly: string[];
  cwd: string;
  command: string[];
  /** The worker is not root: the sandbox needs a user namespace of its own. */
  unprivileged: boolean;
  /** Folders the tool may write (prepare.py's copy of its task); none for scoring. */
  writable?: string[];
  /** Keep the host's network (prepare.py downloads its data); scoring never has one. */
  network?: boolean;
}

/**
 * The bwrap command line for the trusted tools that read what others wrote: eval.py parses outputs the
 * experiment wrote (not trusted), so it runs with no network, nothing writable but a private /tmp, every
 * capability dropped, and its own PID namespace; what it may read is the system, its Python, the scripts
 * folder and the outputs copy. prepare.py runs the same way, writing only its task's copy, with network.
 */
export function scoringArgs(spec: ScoringSpec): string[] {
  const args = ['--unshare-pid', ...(spec.network ? [] : ['--unshare-net']), '--unshare-ipc', '--unshare-uts'];
  args.push('--unshare-cgroup-try');
  if (spec.unprivileged) args.push('--unshare-user');
  args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL');
  for (const dir of SYSTEM_DIRS) args.push('--ro-bind-try', dir, dir);
  args.push('--tmpfs', '/tmp', '--proc', '/proc', '--dev', '/dev');
  for (const p of [...new Set(spec.readOnly)].filter((r) => !underSystem(r))) args.push('--ro-bind', p, p);
  for (const p of new Set(spec.writable ?? [])) args.push('--bind', p, p);
  args.push('--chdir', spec.cwd, '--clearenv', '--setenv', 'HOME', '/tmp', '--setenv', 'LANG', 'C.UTF-8');
  args.push('--setenv', 'PATH', `${path.dirname(spec.command[0]!)}:/usr/bin:/bin`, '--', ...spec.command);
  return args;
}

/**
 * How scoring is sandboxed on this host: with bubblewrap where the plan has it (the same host check that
 * executions pass), reading also `readOnly` (the service's Python installation); undefined where the operator
 * opted out (MLR_SANDBOX=none) or the plan refused.
 */
export function scoringIsolation(plan: SandboxPlan, readOnly: string[]): Isolate | undefined {
  if (plan.kind !== 'bwrap' || plan.refusal || !plan.bwrap) return undefined;
  const unprivileged = !plan.dropPrivileges;
  return (command, dirs, cwd) => [
    plan.bwrap!,
    scoringArgs({ readOnly: [...readOnly, ...dirs], cwd, command, unprivileged }),
  ];
}

/**
 * How prepare.py is sandboxed: as scoring, but with the network (it may download its data) and its task's
 * copy writable (`cwd`'s parent: scripts/ and env/), and no secret of the service in its environment.
 */
export function prepareIsolation(plan: SandboxPlan, readOnly: string[]): Isolate | undefined {
  if (plan.kind !== 'bwrap' || plan.refusal || !plan.bwrap) return undefined;
  const unprivileged = !plan.dropPrivileges;
  return (command, dirs, cwd) => [
    plan.bwrap!,
    scoringArgs({
      readOnly: [...readOnly, ...dirs],
      writable: [path.dirname(cwd)],
      network: true,
      cwd,
      command,
      unprivileged,
    }),
  ];
}

/** A uid of its own for each workspace, so executions of different runs are different users. */
export function sandboxUid(workspaceDir: string): number {
  return (
    200_000 +
    (parseInt(createHash('sha256').update(path.resolve(workspaceDir)).digest('hex').slice(0, 8), 16) % 100_000)
  );
}

const which = (name: string) =>
  ['/usr/bin', '/bin', '/usr/local/bin', '/usr/sbin'].map((d) => path.join(d, name)).find((p) => fs.existsSync(p));

/**
 * What this host can do. `none` is the operator's explicit opt-out (recorded on every execution);
 * otherwise bwrap must be present and work, or every execution is refused with the reason.
 */
export async function planSandbox(mode: 'auto' | 'bwrap' | 'none'): Promise<SandboxPlan> {
  const dropPrivileges = process.getuid?.() === 0;
  if (mode === 'none') return { kind: 'none', dropPrivileges: false };
  const bwrap = which('bwrap');
  const setpriv = which('setpriv');
  const install =
    'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; npm start does this when run as root)';
  if (!bwrap)
    return {
      kind: 'bwrap',
      dropPrivileges,
      refusal: `bubblewrap (bwrap) is not installed: ${install}, or set MLR_SANDBOX=none`,
    };
  if (dropPrivileges && !setpriv) {
    return {
      kind: 'bwrap',
      dropPrivileges,
      refusal: 'setpriv (util-linux) is missing: install util-linux, or set MLR_SANDBOX=none',
    };
  }
  const probe = bwrapArgs(
    { workspaceDir: '/tmp', readOnly: [], env: {}, uid: 65534, command: ['/bin/true'] },
    { dropPrivileges, setpriv },
  );
  try {
    await execFileP(bwrap, probe, { timeout: 10_000 });
  } catch (err) {
    const why = String((err as { stderr?: string }).stderr ?? (err as Error).message)
      .trim()
      .slice(0, 300);
    return {
      kind: 'bwrap',
      dropPrivileges,
      bwrap,
      setpriv,
      refusal: `bubblewrap cannot create namespaces on this host (${why}); allow unprivileged user namespaces, or set MLR_SANDBOX=none`,
    };
  }
  return { kind: 'bwrap', dropPrivileges, bwrap, setpriv };
}

/** What a sandboxed Python needs to read: its venv and the installation the venv points at. */
export async function pythonPaths(python: string): Promise<string[]> {
  const { stdout } = await execFileP(python, ['-c', 'import sys; print(sys.prefix); print(sys.base_prefix)'], {
    timeout: 30_000,
  });
  const dirs = stdout
    .trim()
    .split('\n')
    .map((d) => fs.realpathSync(d.trim()));
  return [...new Set(dirs)].filter((d) => d !== '/usr' && !d.startsWith('/usr/'));
}

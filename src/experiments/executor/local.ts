// The local backend: runs `python <script>` in the workspace in its own process group, with a wall-clock
// timeout, a data-size limit, no network where the OS allows it, an environment that carries no
// secrets, and output bounded in memory. Its bookkeeping (which process group runs in which workspace)
// lives outside the workspace, where the experiment cannot write.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ArtifactStore } from '../artifacts';
import { createCgroup, type CgroupHost, type ExecutionCgroup } from './cgroup';
import { scoreExecution } from './measure';
import { clearOutputs } from '../workspace';
import { bwrapArgs, sandboxUid, scoringIsolation, type SandboxPlan } from './sandbox';
import { hubEnv, offlineDatasetsEnv, type HubView } from '../../domain/hub';
import {
  SandboxUnavailableError,
  type ExecutionInputs,
  type ExecutionResult,
  type ExecutionSpec,
  type ExecutionStatus,
  type Executor,
} from './types';

export type { ExecutionResult, ExecutionSpec, ExecutionStatus, Executor } from './types';

const execFileP = promisify(execFile);
const LOG_TAIL_BYTES = 8 * 1024;

/** `unshare -n` (root) or `unshare -rn` (user namespaces): whichever this OS allows, or none. */
export async function detectNetworkIsolation(): Promise<string[]> {
  for (const prefix of [
    ['unshare', '-n'],
    ['unshare', '-rn'],
  ]) {
    try {
      await execFileP(prefix[0]!, [...prefix.slice(1), 'true'], { timeout: 5000 });
      return prefix;
    } catch {
      // not permitted here; try the next
    }
  }
  return [];
}

export interface LocalExecutorOptions {
  python: string;
  /** Snapshots, live workspaces and prepared tasks by reference. */
  inputs: ExecutionInputs;
  /** Where snapshot copies are made for measured executions and scored outputs are kept while scored. */
  scratchDir: string;
  sandboxScript: string;
  store: ArtifactStore;
  /** Result of detectNetworkIsolation(), used only without a sandbox; [] runs with the network. */
  isolationPrefix: string[];
  /** Result of planSandbox(): bubblewrap, the operator's opt-out, or a refusal. */
  sandbox: SandboxPlan;
  /** Folders the sandbox may read besides the system: the venv and the Python installation behind it. */
  readOnly: string[];
  /** Where the executor records running process groups; outside every workspace. */
  stateDir: string;
  /** Most bytes of output kept for the log: the first half and the last half, with a marker between. */
  maxLogBytes?: number;
  /** Processes one sandboxed execution may have (its own uid's count; applied when privileges are dropped). */
  maxProcs?: number;
  /** Largest file an execution may write, in MB (RLIMIT_FSIZE). */
  maxFileMb?: number;
  /** Most the workspace may hold while the script runs, in MB; checked every few seconds and at the end. */
  maxDiskMb?: number;
  /** Where execution cgroups can be made (detectCgroups()); undefined falls back to rlimits. */
  cgroups?: CgroupHost;
  /** CPUs' worth of time an execution may use (with a cgroup), unless its resources say; undefined: unlimited. */
  cpus?: number;
  /** GPU device files handed to an execution that asks for GPUs (e.g. /dev/nvidia0); none: such a run fails. */
  gpuDevices?: string[];
}

/** NVIDIA device files on this machine, passed to executions that ask for GPUs; [] where there are none. */
export function detectGpuDevices(devDir = '/dev'): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(devDir);
  } catch {
    return [];
  }
  const gpus = names.filter((n) => /^nvidia\d+$/.test(n));
  if (gpus.length === 0) return [];
  const shared = names.filter((n) => ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset'].includes(n));
  return [...gpus, ...shared].map((n) => path.join(devDir, n));
}

/**
 * The device files an execution asking for `gpus` GPUs gets: that many of the GPU devices (the least used
 * by executions running now, lowest number first), and the shared control devices every CUDA process needs;
 * undefined when the machine has fewer GPUs than asked. Never every GPU for one.
 */
export function allotGpus(devices: string[], gpus: number, inUse: ReadonlyMap<string, number>): string[] | undefined {
  const number = (d: string) => Number(/nvidia(\d+)$/.exec(d)?.[1] ?? NaN);
  const cards = devices.filter((d) => Number.isInteger(number(d)));
  if (gpus > cards.length) return undefined;
  const chosen = [...cards]
    .sort((a, b) => (inUse.get(a) ?? 0) - (inUse.get(b) ?? 0) || number(a) - number(b))
    .slice(0, gpus);
  return [...chosen, ...devices.filter((d) => !cards.includes(d))];
}

export { READ_ONLY_VIOLATION } from './measure';

const keyHash = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);

export const DEFAULT_MAX_LOG_BYTES = 16 * 1024 * 1024;

/**
 * Bytes the folder holds on disk (allocated blocks, so a sparse file counts for what it uses, and a file with
 * several hard links once), counted by GNU du: it walks with openat, so no path is too long for it, and it
 * runs in its own process, off the event loop. du exits 1 when it could not read some folder, still printing
 * what it counted; the caller opens such folders first (openTree).
 */
export async function diskUsage(dir: string): Promise<number> {
  let stdout: string;
  try {
    ({ stdout } = await execFileP('du', ['-s', '-B1', '-x', dir], { timeout: 120_000, maxBuffer: 1024 * 1024 }));
  } catch (err) {
    stdout = String((err as { stdout?: string }).stdout ?? '');
  }
  const bytes = Number(stdout.split('\t')[0]);
  return Number.isFinite(bytes) ? bytes : 0;
}

/**
 * Gives the worker's uid back its way into every folder of a tree the experiment left: a non-root worker's
 * sandbox runs as the worker's own uid, and a folder it set to mode 000 would otherwise hide its contents from
 * the disk count and keep the tree from being removed. Root needs none of it.
 */
export async function openTree(dir: string): Promise<void> {
  if (process.getuid?.() === 0) return;
  await execFileP('chmod', ['-R', 'u+rwX', dir], { timeout: 120_000 }).catch(() => undefined);
}

/** Whether RLIMIT_NPROC counts per user namespace (Linux 5.14's ucounts), from a kernel release such as "6.1.0". */
export function namespacedProcCounts(release = os.release()): boolean {
  const [major, minor] = release.split('.').map((n) => parseInt(n, 10));
  return major! > 5 || (major === 5 && minor! >= 14);
}

/** Tasks (threads included, as RLIMIT_NPROC counts them) the uid runs now, read from /proc. */
export function tasksOfUid(uid: number, proc = '/proc'): number {
  let total = 0;
  for (const pid of fs.readdirSync(proc).filter((n) => /^\d+$/.test(n))) {
    try {
      const status = fs.readFileSync(path.join(proc, pid, 'status'), 'utf8');
      const real = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (real === uid) total += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Writes the shell's pid into each cgroup.procs file given before `--`, then execs the command after it. */
const JOIN_CGROUP = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 97; shift; done; shift; exec "$@"';

function scrubbedEnv(python: string, home: string, seed: number): NodeJS.ProcessEnv {
  // Built from nothing, not filtered from process.env: secrets (OPENAI_API_KEY, DATABASE_URL, …) cannot leak.
  return {
    PATH: `${path.dirname(python)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    TMPDIR: home,
    LANG: 'C.UTF-8',
    MLR_SEED: String(seed),
    PYTHONHASHSEED: String(seed),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

/**
 * Output kept in bounded memory: the head up to half the cap, and a ring of the latest chunks for the
 * other half. 300 MB of prints cost the worker at most `maxBytes`.
 */
export class BoundedOutput {
  private head: Buffer[] = [];
  private headSize = 0;
  private tail: Buffer[] = [];
  private tailSize = 0;
  total = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const half = Math.floor(this.maxBytes / 2);
    if (this.headSize < half) {
      const take = chunk.subarray(0, half - this.headSize);
      this.head.push(take);
      this.headSize += take.length;
      chunk = chunk.subarray(take.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailSize += chunk.length;
    while (this.tail.length > 1 && this.tailSize - this.tail[0]!.length >= this.maxBytes - half) {
      this.tailSize -= this.tail.shift()!.length;
    }
  }

  /** The kept bytes, with a marker saying how much was left out. */
  contents(): Buffer {
    const head = Buffer.concat(this.head, this.headSize);
    const keepTail = this.maxBytes - this.headSize;
    const tailAll = Buffer.concat(this.tail, this.tailSize);
    const tail = tailAll.subarray(Math.max(0, tailAll.length - keepTail));
    const omitted = this.total - head.length - tail.length;
    if (omitted <= 0) return Buffer.concat([head, tail]);
    return Buffer.concat([head, Buffer.from(`\n[… ${omitted} bytes of output omitted …]\n`), tail]);
  }

  /** The last bytes of the output, for error messages and observations. */
  lastBytes(n: number): Buffer {
    const tail = Buffer.concat(this.tail, this.tailSize);
    const dropped = this.total > this.headSize + this.tailSize;
    const source = dropped ? tail : Buffer.concat([Buffer.concat(this.head, this.headSize), tail]);
    return source.subarray(Math.max(0, source.length - n));
  }
}

/**
 * The workspace handed to an unprivileged uid: everything in it becomes that uid's. Nothing of the harness
 * is in it, and no process of that uid outlives its sandbox (its PID namespace dies with it), so this walk,
 * which changes owners without following links (lchown, descending only into real folders), races no one.
 */
function handOver(workspaceDir: string, uid: number): void {
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      fs.lchownSync(p, uid, uid);
      if (e.isDirectory()) walk(p);
    }
  };
  fs.lchownSync(workspaceDir, uid, uid);
  walk(workspaceDir);
}

/** The process group a dead worker left running in this workspace: stopped only if it is ours and there. */
function stopStaleGroup(pgidFile: string, sandboxScript: string, workspaceDir: string): void {
  let pgid: number;
  try {
    pgid = Number(fs.readFileSync(pgidFile, 'utf8'));
  } catch {
    return;
  }
  fs.rmSync(pgidFile, { force: true });
  if (!Number.isInteger(pgid) || pgid <= 1 || pgid === process.pid) return;
  // A recycled pid may now belong to anything: the leader must still be our sandbox, in this workspace.
  try {
    const cmdline = fs.readFileSync(`/proc/${pgid}/cmdline`, 'utf8');
    const cwd = fs.readlinkSync(`/proc/${pgid}/cwd`);
    if (!cmdline.includes(sandboxScript) || path.resolve(cwd) !== path.resolve(workspaceDir)) return;
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone already
  }
}

export function createLocalExecutor(opts: LocalExecutorOptions): Executor {
  const maxLogBytes = opts.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES;
  fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(opts.scratchDir, { recursive: true, mode: 0o711 });
  /** Executions using each GPU device now: a new one gets the least used. */
  const gpusInUse = new Map<string, number>();
  return {
    name: 'local',
    async execute(spec): Promise<ExecutionResult> {
      const started = Date.now();
      const plan = opts.sandbox;
      if (plan.refusal) throw new SandboxUnavailableError(plan.refusal);
      const task = await opts.inputs.task(spec.workspace.taskId);
      const gpus = spec.resources.gpus;
      const devices = gpus > 0 ? allotGpus(opts.gpuDevices ?? [], gpus, gpusInUse) : [];
      if (!devices || (gpus > 0 && devices.length === 0)) {
        const have = (opts.gpuDevices ?? []).filter((d) => /nvidia\d+$/.test(d)).length;
        return {
          status: 'failed',
          exitCode: null,
          durationMs: Date.now() - started,
          peakMemoryMb: null,
          metrics: null,
          error:
            `the execution asks for ${gpus} GPU(s) and this machine has ` +
            `${have === 0 ? 'none' : have} (use MLR_EXECUTOR=kubernetes)`,
          logTail: '',
          log: await opts.store.put(spec.logKey, Buffer.from('')),
          networkIsolated: true,
          sandbox: plan.kind,
          backend: 'local',
          readOnlyViolations: [],
        };
      }
      // A measured execution runs in a fresh copy of its snapshot, kept per key; the agent's in its workspace.
      const scratch = spec.workspace.kind === 'snapshot';
      const workspaceDir =
        spec.workspace.kind === 'snapshot'
          ? path.join(opts.scratchDir, 'runs', keyHash(spec.key))
          : opts.inputs.liveWorkspace(spec.workspace);
      // A worker that died mid-execution leaves its experiment running in its own process group; stop
      // it before the retry runs (and before its copy is replaced), so two executions never share a folder.
      const pgidFile = path.join(opts.stateDir, `${keyHash(path.resolve(workspaceDir))}.pgid`);
      stopStaleGroup(pgidFile, opts.sandboxScript, workspaceDir);
      if (spec.workspace.kind === 'snapshot') await opts.inputs.materialize(spec.workspace, workspaceDir);
      await clearOutputs(workspaceDir);
      const python = task.python ?? opts.python;
      // The run's Hub repositories, put in this worker's cache first if it lacks them (a run any worker carries).
      const hub = await opts.inputs.hub?.(spec.workspace.runId);
      for (const d of devices) gpusInUse.set(d, (gpusInUse.get(d) ?? 0) + 1);
      const reads = { python, hub, datasetsCache: task.datasetsCache };
      const run = await runScript(opts, spec, workspaceDir, pgidFile, maxLogBytes, devices, reads).finally(() => {
        for (const d of devices) gpusInUse.set(d, (gpusInUse.get(d) ?? 1) - 1);
      });
      const base = {
        exitCode: run.exitCode,
        durationMs: Date.now() - started,
        peakMemoryMb: run.peakMemoryMb,
        logTail: run.logTail,
        log: run.log,
        networkIsolated: plan.kind === 'bwrap' || opts.isolationPrefix.length > 0,
        sandbox: plan.kind,
        backend: 'local',
        readOnlyViolations: [] as string[],
      };
      try {
        if (run.ended === 'timeout')
          return { ...base, status: 'timeout', metrics: null, error: `timed out after ${spec.timeoutMs} ms` };
        if (run.ended === 'cancelled') return { ...base, status: 'cancelled', metrics: null, error: 'cancelled' };
        if (run.overQuota) {
          const error = `disk quota exceeded: the workspace grew past ${opts.maxDiskMb} MB`;
          return { ...base, status: 'failed', metrics: null, error };
        }
        const killedForMemory = run.oomKilled || /MemoryError|Cannot allocate memory/.test(run.logTail);
        const scored = await scoreExecution({
          // eval.py may need the task's own packages as much as its starter does.
          python,
          task,
          workspaceDir,
          scoringDir: path.join(opts.scratchDir, 'scoring', keyHash(spec.key)),
          metricName: spec.metricName,
          exitCode: run.exitCode,
          memoryNote: killedForMemory ? ` (memory limit ${spec.resources.memoryMb} MB)` : '',
          durationMs: base.durationMs,
          isolate: scoringIsolation(plan, opts.readOnly),
        });
        return { ...base, ...scored };
      } finally {
        if (scratch) await fs.promises.rm(workspaceDir, { recursive: true, force: true });
      }
    },
  };
}

interface ScriptRun {
  exitCode: number | null;
  ended?: ExecutionStatus;
  overQuota: boolean;
  oomKilled: boolean;
  peakMemoryMb: number | null;
  logTail: string;
  log: ExecutionResult['log'];
}

/** Runs the script in `workspaceDir` inside the sandbox and its cgroup, bounded in time, memory, disk and output. */
async function runScript(
  opts: LocalExecutorOptions,
  spec: ExecutionSpec,
  workspaceDir: string,
  pgidFile: string,
  maxLogBytes: number,
  devices: string[],
  /**
   * What the experiment runs with and reads: its interpreter (the task's own venv, or the service's), the run's
   * Hub repositories, and the task's prepared Hub datasets.
   */
  reads: { python: string; hub?: HubView; datasetsCache?: string },
): Promise<ScriptRun> {
  const { python, hub, datasetsCache } = reads;
  const plan = opts.sandbox;
  const memoryMb = spec.resources.memoryMb;
  // HOME and TMPDIR: inside bubblewrap its private /tmp, a tmpfs sized like the execution's memory; without
  // it, a folder of the execution's own outside the workspace, removed when it ends.
  const home = plan.kind === 'bwrap' ? '/tmp' : path.join(opts.scratchDir, 'home', keyHash(spec.key));
  if (plan.kind !== 'bwrap') fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  // The Hub cache: only the run's own repositories are mounted (read-only), and the clients are told to stay offline.
  // The task's Hub datasets: read-only, offline, through a view of its own (scripts/with_datasets.py).
  const env = {
    ...scrubbedEnv(python, home, spec.seed),
    ...(hub ? hubEnv(hub, home) : {}),
    ...(datasetsCache ? offlineDatasetsEnv(path.join(home, 'hf-datasets')) : {}),
  };
  // sandbox.py runs next to the script (inside the sandbox): it sets the limits and reports on fd 3.
  // A cgroup, where the host allows one, limits what is resident and the process count of the whole
  // execution; without one, rlimits do what they can (RLIMIT_DATA: private writable memory, the heap and
  // anonymous maps; processes of the sandbox's uid).
  let cgroup: ExecutionCgroup | undefined;
  try {
    cgroup = opts.cgroups
      ? createCgroup(opts.cgroups, { memoryMb, pids: opts.maxProcs ?? 512, cpus: spec.resources.cpu ?? opts.cpus })
      : undefined;
  } catch {
    cgroup = undefined;
  }
  // RLIMIT_NPROC counts the tasks of the real uid. Dropped to its own uid (root worker), those are the
  // execution's alone. A non-root worker's sandbox has its own user namespace, where Linux (5.14 and later)
  // counts from zero; before that it counts every task of the worker's uid, so the cap is what runs now plus
  // the allowance.
  const procCap =
    !cgroup && plan.kind === 'bwrap' && opts.maxProcs
      ? plan.dropPrivileges || namespacedProcCounts()
        ? opts.maxProcs
        : tasksOfUid(process.getuid!()) + opts.maxProcs
      : undefined;
  const limits = [
    ...(procCap ? ['--procs', String(procCap)] : []),
    ...(opts.maxFileMb ? ['--file-mb', String(opts.maxFileMb)] : []),
  ];
  const limited = (inner: string[]) => [
    opts.python,
    opts.sandboxScript,
    cgroup ? '0' : String(memoryMb),
    ...limits,
    '--',
    ...inner,
  ];
  const viewScript = path.join(path.dirname(path.resolve(opts.sandboxScript)), 'with_datasets.py');
  const script = [...(datasetsCache ? [python, viewScript, datasetsCache, '--'] : []), python, '-u', spec.script];
  let command: string[];
  if (plan.kind === 'bwrap') {
    const uid = sandboxUid(workspaceDir);
    if (plan.dropPrivileges) handOver(workspaceDir, uid);
    const sandboxEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
    const readOnly = [
      ...opts.readOnly,
      path.dirname(path.resolve(opts.sandboxScript)),
      // A task's own venv (its interpreter links to a base installation the default binds already cover).
      ...(python !== opts.python ? [path.dirname(path.dirname(python))] : []),
      ...(hub?.folders ?? []),
      ...(datasetsCache ? [datasetsCache] : []),
    ];
    const inner = limited(script);
    const dir = path.resolve(workspaceDir);
    command = [
      plan.bwrap!,
      ...bwrapArgs(
        { workspaceDir: dir, readOnly, env: sandboxEnv, uid, command: inner, devices, tmpfsMb: memoryMb },
        plan,
      ),
    ];
  } else {
    command = limited([...opts.isolationPrefix, ...script]);
  }
  // The first process joins the cgroup before it execs the rest, so every descendant is in it.
  if (cgroup) command = ['/bin/sh', '-c', JOIN_CGROUP, 'sh', ...cgroup.procsFiles, '--', ...command];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: workspaceDir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env,
  });
  let report = '';
  (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (d: Buffer) => {
    if (report.length < 4096) report += d.toString('utf8');
  });
  if (child.pid) fs.writeFileSync(pgidFile, String(child.pid));
  const output = new BoundedOutput(maxLogBytes);
  const collect = (d: Buffer) => output.push(d);
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let ended: ExecutionStatus | undefined;
  const killTree = (why: ExecutionStatus) => {
    ended ??= why;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    cgroup?.killAll();
  };
  const timer = setTimeout(() => killTree('timeout'), spec.timeoutMs);
  // The disk quota: checked while it runs (a writer is stopped) and once more at the end.
  const quota = opts.maxDiskMb ? opts.maxDiskMb * 1024 * 1024 : undefined;
  let overQuota = false;
  let checking = false;
  const diskCheck = setInterval(() => {
    if (!quota || checking) return;
    checking = true;
    void diskUsage(workspaceDir)
      .then((used) => {
        if (used > quota) {
          overQuota = true;
          killTree('failed');
        }
      })
      .finally(() => {
        checking = false;
      });
  }, 3000);
  const progress = setInterval(() => spec.onProgress?.(), 2000);
  const onAbort = () => killTree('cancelled');
  spec.signal?.addEventListener('abort', onAbort);
  if (spec.signal?.aborted) onAbort();
  const exitCode = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  clearInterval(progress);
  clearInterval(diskCheck);
  await openTree(workspaceDir);
  if (quota && !overQuota) overQuota = (await diskUsage(workspaceDir)) > quota;
  spec.signal?.removeEventListener('abort', onAbort);
  fs.rmSync(pgidFile, { force: true });
  if (plan.kind !== 'bwrap') await fs.promises.rm(home, { recursive: true, force: true });

  const log = await opts.store.put(spec.logKey, output.contents());
  const logTail = output.lastBytes(LOG_TAIL_BYTES).toString('utf8');
  let peakMemoryMb: number | null = cgroup?.peakMemoryMb() ?? null;
  const oomKilled = cgroup?.oomKilled() ?? false;
  if (cgroup) {
    cgroup.killAll();
    await cgroup.remove();
  }
  try {
    const peak = (JSON.parse(report) as { peakMemoryMb?: unknown }).peakMemoryMb;
    if (peakMemoryMb === null && typeof peak === 'number' && Number.isFinite(peak) && peak >= 0) peakMemoryMb = peak;
  } catch {
    // killed before the sandbox could report
  }
  return { exitCode, ended, overQuota, oomKilled, peakMemoryMb, logTail, log };
}

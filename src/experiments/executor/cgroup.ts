// A control group per execution, where the host lets the worker make one: memory limited on what is
// resident (not on address space, which GPU and JIT runtimes reserve by the gigabyte), a process count,
// an optional CPU quota, the peak memory read back, and the whole group killed at once. cgroup v2 where it
// is mounted with its controllers, else the v1 memory/pids/cpu hierarchies; without either the executor
// falls back to rlimits (RLIMIT_DATA, RLIMIT_NPROC).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export type CgroupHost =
  { version: 'v2'; parent: string } | { version: 'v1'; memory: string; pids: string; cpu?: string };

export interface CgroupLimits {
  memoryMb: number;
  pids: number;
  /** CPUs' worth of time per period; undefined leaves CPU unlimited. */
  cpus?: number;
}

export interface ExecutionCgroup {
  /** cgroup.procs files a process writes its pid to, to join the group (children follow). */
  procsFiles: string[];
  peakMemoryMb(): number | null;
  /** Whether the kernel killed a process for exceeding the memory limit. */
  oomKilled(): boolean;
  killAll(): void;
  remove(): Promise<void>;
}

const write = (file: string, value: string) => fs.writeFileSync(file, value);
const read = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
};

/**
 * Removes execution cgroups a killed worker left behind: only empty ones (the kernel refuses others) and
 * only older than a minute, so a group another worker is setting up right now is never touched.
 */
export function reapStaleCgroups(host: CgroupHost, olderThanMs = 60_000): number {
  const parents = host.version === 'v2' ? [host.parent] : [host.memory, host.pids, ...(host.cpu ? [host.cpu] : [])];
  let removed = 0;
  for (const parent of parents) {
    for (const name of fs.readdirSync(parent)) {
      const made = Number(/^exec-(\d+)-/.exec(name)?.[1]);
      if (!made || Date.now() - made < olderThanMs) continue;
      try {
        fs.rmdirSync(path.join(parent, name));
        removed++;
      } catch {
        // still has processes, or already gone
      }
    }
  }
  return removed;
}

/** Where this host lets us make execution cgroups, or undefined (not root, not mounted, not delegated). */
export async function detectCgroups(root = '/sys/fs/cgroup'): Promise<CgroupHost | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const probe = async (make: () => CgroupHost): Promise<CgroupHost | undefined> => {
    try {
      const host = make();
      const test = createCgroup(host, { memoryMb: 64, pids: 8 });
      await test.remove();
      return host;
    } catch {
      return undefined;
    }
  };
  const controllers = read(path.join(root, 'cgroup.controllers')).split(' ');
  if (controllers.includes('memory') && controllers.includes('pids')) {
    const v2 = await probe(() => {
      const parent = path.join(root, 'mlr-executions');
      fs.mkdirSync(parent, { recursive: true });
      write(path.join(root, 'cgroup.subtree_control'), '+memory +pids');
      write(path.join(parent, 'cgroup.subtree_control'), `+memory +pids${controllers.includes('cpu') ? ' +cpu' : ''}`);
      return { version: 'v2', parent };
    });
    if (v2) return v2;
  }
  const dir = (c: string) => path.join(root, c, 'mlr-executions');
  if (fs.existsSync(path.join(root, 'memory', 'memory.limit_in_bytes')) && fs.existsSync(path.join(root, 'pids'))) {
    return probe(() => {
      for (const c of ['memory', 'pids']) fs.mkdirSync(dir(c), { recursive: true });
      const cpu = fs.existsSync(path.join(root, 'cpu', 'cpu.cfs_quota_us')) ? dir('cpu') : undefined;
      if (cpu) fs.mkdirSync(cpu, { recursive: true });
      return { version: 'v1', memory: dir('memory'), pids: dir('pids'), cpu };
    });
  }
  return undefined;
}

export function createCgroup(host: CgroupHost, limits: CgroupLimits): ExecutionCgroup {
  const name = `exec-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const bytes = String(limits.memoryMb * 1024 * 1024);
  const period = 100_000;
  if (host.version === 'v2') {
    const dir = path.join(host.parent, name);
    fs.mkdirSync(dir);
    write(path.join(dir, 'memory.max'), bytes);
    write(path.join(dir, 'memory.swap.max'), '0');
    write(path.join(dir, 'pids.max'), String(limits.pids));
    if (limits.cpus) write(path.join(dir, 'cpu.max'), `${Math.round(limits.cpus * period)} ${period}`);
    return {
      procsFiles: [path.join(dir, 'cgroup.procs')],
      peakMemoryMb: () =>
        read(path.join(dir, 'memory.peak')) ? Number(read(path.join(dir, 'memory.peak'))) / 2 ** 20 : null,
      oomKilled: () => /oom_kill [1-9]/.test(read(path.join(dir, 'memory.events'))),
      killAll: () => {
        try {
          write(path.join(dir, 'cgroup.kill'), '1');
        } catch {
          killEach(path.join(dir, 'cgroup.procs'));
        }
      },
      remove: () => removeDir(dir),
    };
  }
  const dirs = [
    path.join(host.memory, name),
    path.join(host.pids, name),
    ...(host.cpu ? [path.join(host.cpu, name)] : []),
  ];
  for (const d of dirs) fs.mkdirSync(d);
  const [mem, pids, cpu] = dirs as [string, string, string | undefined];
  write(path.join(mem, 'memory.limit_in_bytes'), bytes);
  // Swap may be off (no memsw files): the limit above is then the limit on what is resident.
  if (fs.existsSync(path.join(mem, 'memory.memsw.limit_in_bytes')))
    write(path.join(mem, 'memory.memsw.limit_in_bytes'), bytes);
  write(path.join(pids, 'pids.max'), String(limits.pids));
  if (cpu && limits.cpus) {
    write(path.join(cpu, 'cpu.cfs_period_us'), String(period));
    write(path.join(cpu, 'cpu.cfs_quota_us'), String(Math.round(limits.cpus * period)));
  }
  return {
    procsFiles: dirs.map((d) => path.join(d, 'cgroup.procs')),
    peakMemoryMb: () =>
      read(path.join(mem, 'memory.max_usage_in_bytes'))
        ? Number(read(path.join(mem, 'memory.max_usage_in_bytes'))) / 2 ** 20
        : null,
    oomKilled: () => /oom_kill [1-9]/.test(read(path.join(mem, 'memory.oom_control'))),
    killAll: () => killEach(path.join(pids, 'cgroup.procs')),
    remove: async () => {
      for (const d of dirs) await removeDir(d);
    },
  };
}

/** SIGKILL every process listed, until none is left (new ones may fork in between). */
function killEach(procsFile: string): void {
  for (let round = 0; round < 20; round++) {
    const pids = read(procsFile).split('\n').filter(Boolean).map(Number);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/** A cgroup can be removed once its last process has been reaped; try for a moment, then leave it. */
async function removeDir(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

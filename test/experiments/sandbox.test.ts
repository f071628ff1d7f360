import { ancestors, bwrapArgs, sandboxUid, scoringArgs } from '../../src/experiments/executor/sandbox';

const spec = {
  workspaceDir: '/data/ws/run-1',
  readOnly: ['/opt/venv', '/usr/lib/python3.11'],
  env: { PATH: '/opt/venv/bin:/usr/bin', MLR_SEED: '3' },
  uid: 201234,
  command: ['/opt/venv/bin/python', '-u', 'train.py'],
};

/** The value after each occurrence of a flag. */
const after = (args: string[], flag: string, width = 1) =>
  args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + width).join(' ')] : []));

describe('bwrapArgs', () => {
  it.each([
    ['root: drops to the workspace uid with setpriv, no user namespace', true],
    ['an ordinary user: a user namespace, no setpriv', false],
  ])('%s', (_name, dropPrivileges) => {
    const args = bwrapArgs(spec, { dropPrivileges, setpriv: '/usr/bin/setpriv' });
    for (const ns of ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts']) expect(args).toContain(ns);
    expect(args.includes('--unshare-user')).toBe(!dropPrivileges);
    expect(args.includes('/usr/bin/setpriv')).toBe(dropPrivileges);
    if (dropPrivileges) {
      expect(args).toEqual(
        expect.arrayContaining([
          '--reuid=201234',
          '--regid=201234',
          '--clear-groups',
          '--no-new-privs',
          '--bounding-set=-all',
        ]),
      );
    }
    expect(args.slice(-3)).toEqual(spec.command);
  });

  it('binds the system and the venv read-only, the workspace read-write, and nothing else', () => {
    const args = bwrapArgs(spec, { dropPrivileges: true });
    expect(after(args, '--ro-bind', 2)).toEqual(['/opt/venv /opt/venv']);
    expect(after(args, '--ro-bind-try', 2)).toEqual([
      '/usr /usr',
      '/bin /bin',
      '/sbin /sbin',
      '/lib /lib',
      '/lib64 /lib64',
      '/etc /etc',
    ]);
    expect(after(args, '--bind', 2)).toEqual(['/data/ws/run-1 /data/ws/run-1']);
    expect(after(args, '--tmpfs')).toEqual(['/tmp', '/dev/shm']);
    expect(after(args, '--chdir')).toEqual(['/data/ws/run-1']);
  });

  it.each([
    ['no GPU asked for: no device files', [], []],
    [
      'GPUs asked for: their device files, after the private /dev',
      ['/dev/nvidia0', '/dev/nvidiactl'],
      ['/dev/nvidia0 /dev/nvidia0', '/dev/nvidiactl /dev/nvidiactl'],
    ],
  ])('%s', (_name, devices, bound) => {
    const args = bwrapArgs({ ...spec, devices }, { dropPrivileges: true });
    expect(after(args, '--dev-bind', 2)).toEqual(bound);
    if (devices.length > 0) expect(args.indexOf('--dev-bind')).toBeGreaterThan(args.indexOf('--dev'));
  });

  it('makes every folder on the way to a mount traversable, once, outermost first', () => {
    const args = bwrapArgs(spec, { dropPrivileges: true });
    expect(after(args, '--dir')).toEqual(['/data', '/data/ws', '/opt']);
    expect(args.indexOf('--dir')).toBeLessThan(args.indexOf('--bind'));
  });

  it('passes only the environment it is given', () => {
    const args = bwrapArgs(spec, { dropPrivileges: true });
    expect(args).toContain('--clearenv');
    expect(after(args, '--setenv', 2)).toEqual(['PATH /opt/venv/bin:/usr/bin', 'MLR_SEED 3']);
  });

  it('needs no extra folder for a workspace under /tmp (its own tmpfs)', () => {
    const args = bwrapArgs({ ...spec, workspaceDir: '/tmp/ws', readOnly: [] }, { dropPrivileges: false });
    expect(after(args, '--dir')).toEqual([]);
  });
});

describe('ancestors and sandboxUid', () => {
  it('lists ancestors outermost first and gives a stable unprivileged uid per workspace', () => {
    expect(ancestors('/a/b/c')).toEqual(['/a', '/a/b']);
    expect(ancestors('/a')).toEqual([]);
    expect(sandboxUid('/w/1')).toBe(sandboxUid('/w/1/'));
    expect(sandboxUid('/w/1')).not.toBe(sandboxUid('/w/2'));
    expect(sandboxUid('/w/1')).toBeGreaterThanOrEqual(200_000);
    expect(sandboxUid('/w/1')).toBeLessThan(300_000);
  });
});

describe('scoringArgs', () => {
  const scoring = {
    readOnly: ['/opt/venv', '/data/tasks/t/scripts', '/data/executions/scoring/k', '/opt/venv'],
    cwd: '/data/tasks/t/scripts',
    command: ['/opt/venv/bin/python', '-c', 'EVAL', '/data/executions/scoring/k'],
  };
  it.each([
    ['root: no user namespace, every capability dropped', false],
    ['an ordinary user: its own user namespace', true],
  ])('%s', (_name, unprivileged) => {
    const args = scoringArgs({ ...scoring, unprivileged });
    for (const ns of ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts']) expect(args).toContain(ns);
    expect(args.includes('--unshare-user')).toBe(unprivileged);
    expect(after(args, '--cap-drop')).toEqual(['ALL']);
    expect(args.slice(-4)).toEqual(scoring.command);
  });

  it('reads its Python, the scripts and the outputs, and writes nowhere but a private /tmp', () => {
    const args = scoringArgs({ ...scoring, unprivileged: false });
    expect(after(args, '--ro-bind', 2)).toEqual([
      '/opt/venv /opt/venv',
      '/data/tasks/t/scripts /data/tasks/t/scripts',
      '/data/executions/scoring/k /data/executions/scoring/k',
    ]);
    expect(after(args, '--bind', 2)).toEqual([]);
    expect(after(args, '--tmpfs')).toEqual(['/tmp']);
    expect(after(args, '--chdir')).toEqual(['/data/tasks/t/scripts']);
    expect(after(args, '--setenv', 2)).toEqual(['HOME /tmp', 'LANG C.UTF-8', 'PATH /opt/venv/bin:/usr/bin:/bin']);
  });
});

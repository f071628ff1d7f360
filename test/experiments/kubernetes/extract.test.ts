// What a pod sends back is hostile: every header of the returned workspace is read before anything is
// unpacked, and the archive is refused whole for a link, a device, a FIFO, a sparse file, a path that climbs
// out, or files adding up to more than the cap (however small the archive is).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { extract, TooLargeError } from '../../../src/experiments/executor/kubernetes';
import { scanTar, TarRefused } from '../../../src/experiments/executor/tar-scan';

/** Writes a gzipped tar of the members Python's tarfile makes: [name, kind, data, link or zeros' count] each. */
const MAKE = `
import io, json, sys, tarfile
members = json.loads(sys.argv[1])
fmt = tarfile.PAX_FORMAT if sys.argv[3] == "pax" else tarfile.GNU_FORMAT
with tarfile.open(sys.argv[2], mode="w:gz", format=fmt) as tar:
    for name, kind, value in members:
        info = tarfile.TarInfo(name)
        if kind == "zeros":
            kind, value = "file", "\\0" * int(value)
        info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                     "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]
        data = value.encode() if kind == "file" else b""
        if kind in ("symlink", "hardlink"):
            info.linkname = value
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data) if kind == "file" else None)
`;

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function archive(members: Array<[string, string, string]>, format: 'gnu' | 'pax' = 'gnu'): string {
  const file = path.join(root, `a-${Math.random().toString(36).slice(2)}.tgz`);
  execFileSync('python3', ['-c', MAKE, JSON.stringify(members), file, format]);
  return file;
}

it('unpacks regular files and folders inside the folder', async () => {
  const file = archive([
    ['sub', 'dir', ''],
    ['sub/train.py', 'file', 'print(1)\n'],
    ['submission.csv', 'file', 'id,target\n'],
    [`${'d'.repeat(120)}/long-name.txt`, 'file', 'long'],
  ]);
  const dest = path.join(root, 'dest');
  await extract(file, dest, 1024 * 1024);
  expect(fs.readFileSync(path.join(dest, 'sub/train.py'), 'utf8')).toBe('print(1)\n');
  expect(fs.readFileSync(path.join(dest, `${'d'.repeat(120)}/long-name.txt`), 'utf8')).toBe('long');
  // The archive gave its folder mode 0644 (no search bit) and nothing else: the worker can still enter it.
  expect(fs.statSync(path.join(dest, 'sub')).mode & 0o700).toBe(0o700);
});

it('leaves no folder or file of the archive closed to the worker, whatever modes its members carry', async () => {
  const file = archive([
    ['locked', 'dir', ''],
    ['locked/train.py', 'file', 'print(2)\n'],
  ]);
  // Modes as a hostile pod would set them: a folder and a file nobody may open.
  const make = `import tarfile, sys
src = tarfile.open(sys.argv[1]); dst = tarfile.open(sys.argv[2], "w:gz")
for m in src.getmembers():
    m.mode = 0
    dst.addfile(m, src.extractfile(m) if m.isfile() else None)
dst.close()`;
  const closed = path.join(root, 'closed.tgz');
  execFileSync('python3', ['-c', make, file, closed]);
  const dest = path.join(root, 'closed');
  await extract(closed, dest, 1024 * 1024);
  expect(fs.readFileSync(path.join(dest, 'locked/train.py'), 'utf8')).toBe('print(2)\n');
  fs.rmSync(dest, { recursive: true });
  expect(fs.existsSync(dest)).toBe(false);
});

it.each([
  ['a symbolic link', [['out', 'symlink', '/etc']], /is a symbolic link/],
  ['a hard link', [['hard', 'hardlink', '/etc/hostname']], /is a hard link/],
  ['a FIFO', [['fifo', 'fifo', '']], /is a FIFO/],
  ['a device', [['tty', 'chr', '']], /is a character device/],
  ['a path that climbs out', [['../escaped.txt', 'file', 'x']], /climbs out/],
  ['an absolute path', [['/abs-escaped.txt', 'file', 'x']], /climbs out/],
  ['a climbing path in a pax header', [[`${'../'.repeat(40)}x`, 'file', 'x']], /climbs out/],
] as Array<[string, Array<[string, string, string]>, RegExp]>)(
  'refuses an archive with %s, unpacking nothing',
  async (_what, members, why) => {
    const file = archive([['train.py', 'file', 'print(1)\n'], ...members], 'pax');
    const dest = path.join(root, 'dest');
    await expect(extract(file, dest, 1024 * 1024)).rejects.toThrow(why);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.existsSync(path.join(root, 'escaped.txt'))).toBe(false);
  },
);

it('refuses a sparse file, GNU or pax, which is small in the archive and huge on disk', async () => {
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  const sparse = path.join(src, 'huge.bin');
  fs.writeFileSync(sparse, 'x');
  fs.truncateSync(sparse, 4 * 1024 ** 3); // 4 GiB, one byte of it written
  for (const format of ['gnu', 'posix']) {
    const file = path.join(root, `sparse-${format}.tgz`);
    execFileSync('tar', ['--sparse', `--format=${format}`, '-czf', file, '-C', src, 'huge.bin']);
    expect(fs.statSync(file).size).toBeLessThan(64 * 1024);
    await expect(scanTar(fs.createReadStream(file), 8 * 1024 ** 3)).rejects.toThrow(/sparse file/);
    await expect(extract(file, path.join(root, `dest-${format}`), 8 * 1024 ** 3)).rejects.toThrow(TarRefused);
  }
});

it('refuses an archive whose files add up to more than the cap, without unpacking it', async () => {
  const file = archive([
    ['a.bin', 'zeros', String(600 * 1024)],
    ['b.bin', 'zeros', String(600 * 1024)],
  ]);
  expect(fs.statSync(file).size).toBeLessThan(64 * 1024);
  const dest = path.join(root, 'dest');
  await expect(extract(file, dest, 1024 * 1024)).rejects.toThrow(TooLargeError);
  expect(fs.existsSync(dest)).toBe(false);
  await expect(scanTar(fs.createReadStream(file), 2 * 1024 * 1024)).resolves.toEqual({
    files: 2,
    bytes: 1200 * 1024,
  });
});

it('refuses what is not a tar archive at all', async () => {
  const file = path.join(root, 'bomb.gz');
  fs.writeFileSync(file, zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x41)));
  await expect(extract(file, path.join(root, 'dest'), 8 * 1024 * 1024)).rejects.toThrow(TarRefused);
});

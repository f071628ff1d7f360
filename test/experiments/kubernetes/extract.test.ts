// What a pod sends back is hostile: the returned workspace is unpacked inside its folder, links and
// special files do not survive, and an archive that unpacks to more than the cap is refused unread.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { extract, TooLargeError, unpackedSize } from '../../../src/experiments/executor/kubernetes';

const MAKE = `
import io, sys, tarfile
out = io.BytesIO()
with tarfile.open(fileobj=out, mode="w:gz") as tar:
    def add(name, data=b"x", kind=tarfile.REGTYPE, link=""):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = link
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    add("train.py", b"print(1)\\n")
    add("submission.csv", b"id,target\\n")
    add("../escaped.txt")
    add("/abs-escaped.txt")
    add("out", kind=tarfile.SYMTYPE, link=sys.argv[1])
    add("out/pwned.txt")
    add("hard", kind=tarfile.LNKTYPE, link="/etc/hostname")
    add("fifo", kind=tarfile.FIFOTYPE)
sys.stdout.buffer.write(out.getvalue())
`;

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'extract-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

it('keeps every member inside the folder and only regular files and folders', async () => {
  const outside = path.join(root, 'outside');
  fs.mkdirSync(outside);
  const tarball = execFileSync('python3', ['-c', MAKE, outside]);
  const dest = path.join(root, 'ws', 'dest');
  fs.mkdirSync(path.dirname(dest));
  // tar reports the members it refused: the whole workspace is refused, and what was unpacked is cleaned.
  await expect(extract(tarball, dest, 10 * 1024 * 1024)).rejects.toThrow();
  expect(fs.readFileSync(path.join(dest, 'train.py'), 'utf8')).toBe('print(1)\n');
  expect(fs.readdirSync(outside)).toEqual([]);
  expect(fs.existsSync(path.join(root, 'ws', 'escaped.txt'))).toBe(false);
  expect(fs.existsSync('/abs-escaped.txt')).toBe(false);
  for (const name of ['out', 'hard', 'fifo']) {
    const st = fs.lstatSync(path.join(dest, name), { throwIfNoEntry: false });
    expect(st === undefined || st.isFile() || st.isDirectory()).toBe(true);
  }
  if (fs.existsSync(path.join(dest, 'hard')))
    expect(fs.readFileSync(path.join(dest, 'hard'), 'utf8')).not.toBe(fs.readFileSync('/etc/hostname', 'utf8'));
});

it('refuses an archive that unpacks to more than the cap, without unpacking it', async () => {
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024));
  expect(bomb.length).toBeLessThan(1024 * 1024);
  expect(await unpackedSize(bomb, 8 * 1024 * 1024)).toBeGreaterThan(8 * 1024 * 1024);
  const dest = path.join(root, 'dest');
  await expect(extract(bomb, dest, 8 * 1024 * 1024)).rejects.toThrow(TooLargeError);
  expect(fs.existsSync(dest)).toBe(false);
});

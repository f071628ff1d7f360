// Reads a gzipped tar stream's headers (never its data) before anything of it is unpacked. What a pod sends
// back is hostile: a sparse member is small in the archive and huge on disk, a link or a device is a way out,
// and a member's declared size is what unpacking really writes. So only regular files and folders with plain
// paths pass, and their sizes add up to at most the cap: unpacked, the workspace holds at most that many bytes.
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';

/** An archive that unpacking would not keep to its folder or its cap; the message says which member and why. */
export class TarRefused extends Error {
  constructor(
    message: string,
    /** Set when the archive is refused for its size alone. */
    readonly tooLarge = false,
  ) {
    super(message);
    this.name = 'TarRefused';
  }
}

const BLOCK = 512;
/** Largest pax or GNU long-name record read (they hold names and attributes, never data). */
const MAX_META_BYTES = 1024 * 1024;

/** Bytes from an async stream, a block at a time, with skipping that never keeps what it skips. */
class BlockReader {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  async read(n: number): Promise<Buffer | undefined> {
    while (this.buf.length - this.off < n) {
      const next = await this.chunks.next();
      if (next.done) return undefined;
      this.buf = Buffer.concat([this.buf.subarray(this.off), next.value]);
      this.off = 0;
    }
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }

  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      const available = this.buf.length - this.off;
      if (available === 0) {
        const next = await this.chunks.next();
        if (next.done) return false;
        this.buf = next.value;
        this.off = 0;
        continue;
      }
      const take = Math.min(available, n);
      this.off += take;
      n -= take;
    }
    return true;
  }
}

const text = (b: Buffer) => b.toString('utf8', 0, b.indexOf(0) === -1 ? b.length : b.indexOf(0));

/** A header's size field: octal text, or GNU's base-256 for sizes over 8 GiB. */
function sizeOf(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const octal = text(field).trim();
  if (!/^[0-7]*$/.test(octal)) throw new TarRefused('a member has a malformed size');
  return octal ? parseInt(octal, 8) : 0;
}

/** pax records, `LEN key=value\n` each. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  const s = data.toString('utf8');
  for (let at = 0; at < s.length;) {
    const space = s.indexOf(' ', at);
    const len = Number(s.slice(at, space));
    if (space < 0 || !Number.isInteger(len) || len <= 0) break;
    const record = s.slice(space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return records;
}

function checkPath(name: string): void {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (name.startsWith('/') || parts.includes('..') || name.includes('\0'))
    throw new TarRefused(`member ${JSON.stringify(name.slice(0, 200))} climbs out of the workspace`);
}

const KINDS: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '6': 'a FIFO',
  S: 'a sparse file',
};

/**
 * Checks every header of the gzipped tar `source`: regular files and folders only, paths inside, no sparse
 * member (GNU or pax), and the regular files' sizes adding up to at most `maxBytes`. Throws TarRefused.
 */
export async function scanTar(source: Readable, maxBytes: number): Promise<{ files: number; bytes: number }> {
  const gunzip = zlib.createGunzip();
  const reader = new BlockReader(source.pipe(gunzip)[Symbol.asyncIterator]());
  let files = 0;
  let bytes = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  try {
    for (;;) {
      const header = await reader.read(BLOCK);
      if (!header || header.every((b) => b === 0)) break; // the end (or a truncated archive: tar says so)
      const type = String.fromCharCode(header[156]!);
      const declared = sizeOf(header.subarray(124, 136));
      const padded = Math.ceil(declared / BLOCK) * BLOCK;
      if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
        if (declared > MAX_META_BYTES) throw new TarRefused('a member has an oversized extended header');
        const data = await reader.read(padded);
        if (!data) break;
        const body = data.subarray(0, declared);
        if (type === 'x' || type === 'g') {
          const records = paxRecords(body);
          if ([...records.keys()].some((k) => k.startsWith('GNU.sparse')))
            throw new TarRefused('the archive holds a sparse file');
          if (type === 'x') pax = records;
        } else if (type === 'L') longName = text(body);
        continue;
      }
      const prefix = text(header.subarray(345, 500));
      const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/` : '') + text(header.subarray(0, 100));
      const size = pax.has('size') ? Number(pax.get('size')) : declared;
      pax = new Map();
      longName = undefined;
      checkPath(name);
      if (KINDS[type]) throw new TarRefused(`member ${JSON.stringify(name.slice(0, 200))} is ${KINDS[type]}`);
      if (type === '5') {
        if (!(await reader.skip(padded))) break;
        continue;
      }
      if (type !== '0' && type !== '\0' && type !== '7')
        throw new TarRefused(`member ${JSON.stringify(name.slice(0, 200))} is of an unknown kind`);
      if (!Number.isSafeInteger(size) || size < 0) throw new TarRefused('a member has a malformed size');
      files += 1;
      bytes += size;
      if (bytes > maxBytes) throw new TarRefused(`the returned workspace unpacks to more than ${maxBytes} bytes`, true);
      if (!(await reader.skip(Math.ceil(size / BLOCK) * BLOCK))) break;
    }
  } finally {
    source.unpipe(gunzip);
    gunzip.destroy();
  }
  return { files, bytes };
}

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { detectSections, type Section } from './sections';

export type PaperFormat = 'markdown' | 'text' | 'pdf';

const PRLIMIT = '/usr/bin/prlimit';

export interface IngestedPaper {
  title: string;
  format: PaperFormat;
  content: string;
  sections: Section[];
  contentHash: string;
  bytes: number;
}

export type PaperInputCode =
  | 'EmptyPaper'
  | 'UndecodableContent'
  | 'UnreadablePdf'
  | 'UnsupportedFormat'
  | 'LineTooLong'
  | 'PaperTooComplex'
  | 'PdfTooLarge';

/** Input the caller must fix: the API answers 400 (or 422 for input that is well-formed but beyond a limit). */
export class PaperInputError extends Error {
  constructor(
    readonly code: PaperInputCode,
    message: string,
  ) {
    super(message);
    this.name = 'PaperInputError';
  }

  get status(): number {
    return this.code === 'LineTooLong' || this.code === 'PaperTooComplex' || this.code === 'PdfTooLarge' ? 422 : 400;
  }
}

/** Longest line accepted; longer ones are refused rather than scanned (no paper needs a 200 KB line). */
export const MAX_LINE_CHARS = 200_000;

/**
 * Unix line endings, no trailing blanks, at most one empty line in a row, trimmed: one pass over the
 * lines (the old `[ \t]+\n` replace was quadratic on long runs of spaces).
 */
export function normalise(text: string): string {
  const out: string[] = [];
  let previousEmpty = true; // drops leading empty lines
  let lineNo = 0;
  for (const raw of text.split(/\r\n|\r|\n/)) {
    lineNo++;
    if (raw.length > MAX_LINE_CHARS) {
      throw new PaperInputError(
        'LineTooLong',
        `line ${lineNo} has ${raw.length} characters; at most ${MAX_LINE_CHARS} are accepted`,
      );
    }
    let end = raw.length;
    while (end > 0 && (raw.charCodeAt(end - 1) === 32 || raw.charCodeAt(end - 1) === 9)) end--;
    const line = end === raw.length ? raw : raw.slice(0, end);
    if (line === '' && previousEmpty) continue;
    out.push(line);
    previousEmpty = line === '';
  }
  return out.join('\n').trim();
}

function guessTitle(content: string, format: PaperFormat): string {
  const lines = content
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const md = format === 'markdown' ? lines.find((l) => /^#\s+/.test(l)) : undefined;
  return (md?.replace(/^#\s+/, '') ?? lines[0] ?? 'Untitled').slice(0, 300);
}

export function ingestText(content: string, format: PaperFormat, title?: string, bytes?: number): IngestedPaper {
  if (content.includes('\u0000'))
    throw new PaperInputError('UndecodableContent', 'content contains NUL bytes: it is binary, not text');
  const text = normalise(content);
  if (!text) throw new PaperInputError('EmptyPaper', 'the paper has no text');
  return {
    title: title?.trim() || guessTitle(text, format),
    format,
    content: text,
    sections: detectSections(text, format),
    contentHash: createHash('sha256').update(text).digest('hex'),
    bytes: bytes ?? Buffer.byteLength(content),
  };
}

/** Strict UTF-8 decoding: invalid bytes are an error, not replacement characters. */
export function decodeUtf8(buf: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new PaperInputError('UndecodableContent', 'the file is not valid UTF-8 text');
  }
}

export interface PdfLimits {
  maxPages: number;
  /** Address-space limit of the child (RLIMIT_AS); V8 and pdf.js's WebAssembly need about 2 GB to start. */
  memoryMb: number;
  cpuSeconds: number;
  /** Most bytes of extracted text read back; more is refused. */
  maxOutputBytes: number;
}

export const defaultPdfLimits: PdfLimits = {
  maxPages: 300,
  memoryMb: 3072,
  cpuSeconds: 60,
  maxOutputBytes: 64 * 1024 * 1024,
};

/**
 * Text of a PDF from a child process with an empty environment, an address-space and CPU limit (prlimit),
 * a wall-clock limit, a page cap and an output cap: a hostile PDF can only exhaust that child.
 */
export function extractPdfText(
  buf: Buffer,
  limits: PdfLimits = defaultPdfLimits,
  nodeBinary = process.execPath,
): Promise<{ title?: string; text: string }> {
  const script = path.resolve(__dirname, '../../scripts/pdf-text.mjs');
  const heapMb = Math.max(256, Math.floor(limits.memoryMb / 3));
  const argv = [`--max-old-space-size=${heapMb}`, script, String(limits.maxPages)];
  const cmd = fs.existsSync(PRLIMIT) ? PRLIMIT : nodeBinary;
  const args =
    cmd === PRLIMIT
      ? [`--as=${limits.memoryMb * 1024 * 1024}`, `--cpu=${limits.cpuSeconds}`, '--', nodeBinary, ...argv]
      : argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: {}, cwd: path.dirname(script) });
    const out: Buffer[] = [];
    let outBytes = 0;
    let tooLarge = false;
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), (limits.cpuSeconds + 5) * 1000);
    child.stdout.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > limits.maxOutputBytes) {
        tooLarge = true;
        child.kill('SIGKILL');
        return;
      }
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (tooLarge) {
        reject(new PaperInputError('PdfTooLarge', `the PDF's text exceeds ${limits.maxOutputBytes} bytes`));
        return;
      }
      if (code === 3) {
        reject(new PaperInputError('PdfTooLarge', err.trim()));
        return;
      }
      if (code !== 0) {
        const why = signal ? `extraction was stopped (${signal})` : err.trim() || `exit ${code}`;
        reject(new PaperInputError('UnreadablePdf', `the PDF could not be read: ${why}`));
        return;
      }
      resolve(JSON.parse(Buffer.concat(out).toString('utf8')));
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading everything
    child.stdin.end(buf);
  });
}

/** What an upload is: PDF by magic bytes or name, Markdown by name, text otherwise. */
export function uploadFormat(buf: Buffer, filename: string): PaperFormat {
  const lower = filename.toLowerCase();
  if (buf.subarray(0, 5).toString('latin1') === '%PDF-' || lower.endsWith('.pdf')) return 'pdf';
  return lower.endsWith('.md') || lower.endsWith('.markdown') ? 'markdown' : 'text';
}

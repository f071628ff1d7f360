import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { detectSections, type Section } from './sections';

export type PaperFormat = 'markdown' | 'text' | 'pdf';

export interface IngestedPaper {
  title: string;
  format: PaperFormat;
  content: string;
  sections: Section[];
  contentHash: string;
  bytes: number;
}

/** Input the caller must fix: the API answers 400 with this code. */
export class PaperInputError extends Error {
  constructor(readonly code: 'EmptyPaper' | 'UndecodableContent' | 'UnreadablePdf' | 'UnsupportedFormat', message: string) {
    super(message);
    this.name = 'PaperInputError';
  }
}

const PDF_TIMEOUT_MS = 60_000;

function normalise(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
}

function guessTitle(content: string, format: PaperFormat): string {
  const lines = content.split('\n').map((l) => l.trim()).filter(Boolean);
  const md = format === 'markdown' ? lines.find((l) => /^#\s+/.test(l)) : undefined;
  return (md?.replace(/^#\s+/, '') ?? lines[0] ?? 'Untitled').slice(0, 300);
}

export function ingestText(content: string, format: PaperFormat, title?: string, bytes?: number): IngestedPaper {
  if (content.includes('\u0000')) throw new PaperInputError('UndecodableContent', 'content contains NUL bytes: it is binary, not text');
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

export function extractPdfText(buf: Buffer, nodeBinary = process.execPath): Promise<{ title?: string; text: string }> {
  const script = path.resolve(__dirname, '../../scripts/pdf-text.mjs');
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary, ['--max-old-space-size=1024', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), PDF_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-2000); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
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

/** Any upload: PDF by magic bytes or name, Markdown by name, text otherwise. */
export async function ingestFile(buf: Buffer, filename: string, title?: string): Promise<IngestedPaper> {
  if (buf.length === 0) throw new PaperInputError('EmptyPaper', 'the uploaded file is empty');
  const lower = filename.toLowerCase();
  if (buf.subarray(0, 5).toString('latin1') === '%PDF-' || lower.endsWith('.pdf')) {
    const pdf = await extractPdfText(buf);
    return ingestText(pdf.text, 'pdf', title || pdf.title, buf.length);
  }
  const format: PaperFormat = /\.(md|markdown)$/.test(lower) ? 'markdown' : 'text';
  return ingestText(decodeUtf8(buf), format, title, buf.length);
}

// Paper ingestion off the event loop: text is parsed in a small pool of worker threads with a time
// budget per paper, PDFs in a limited child process (see extractPdfText). Both have a concurrency cap and
// a short queue; beyond that the caller is told to come back (429), never made to wait unboundedly.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { HttpError } from '../errors';
import {
  decodeUtf8,
  extractPdfText,
  PaperInputError,
  uploadFormat,
  type IngestedPaper,
  type PaperFormat,
  type PaperInputCode,
  type PdfLimits,
} from './ingest';

export interface PaperIngestor {
  text(content: string, format: PaperFormat, title?: string, bytes?: number): Promise<IngestedPaper>;
  file(buf: Buffer, filename: string, title?: string): Promise<IngestedPaper>;
  close(): Promise<void>;
}

export interface IngestorOptions {
  /** Worker threads parsing at once. */
  concurrency: number;
  /** Time budget of one parse; the thread is replaced when it runs over. */
  timeoutMs: number;
  pdf: PdfLimits;
  pdfConcurrency: number;
}

interface Reply {
  id: number;
  paper?: IngestedPaper;
  error?: { input: boolean; code?: PaperInputCode; message: string };
}

const busy = (what: string) =>
  new HttpError(429, 'IngestBusy', `too many ${what} are being parsed right now; retry shortly`, {
    'retry-after': '2',
  });

/** A counting gate: at most `limit` holders and `queue` waiters; beyond that, refuse at once. */
function gate(limit: number, queue: number, refuse: () => Error) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) {
      if (waiting.length >= queue) throw refuse();
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      active++;
    }
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next)
        next(); // the slot passes straight to the next waiter
      else active--;
    }
  };
}

function workerFile(): { file: string; execArgv: string[] } {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `parse-worker${ext}`);
  // Under ts-node (npm start, tests) the thread compiles TypeScript too; a built dist/ runs plain JS.
  return { file, execArgv: ext === '.ts' ? ['-r', 'ts-node/register/transpile-only'] : [] };
}

export function createPaperIngestor(opts: IngestorOptions): PaperIngestor {
  const idle: Worker[] = [];
  const all = new Set<Worker>();
  let nextId = 1;
  const textGate = gate(opts.concurrency, opts.concurrency * 8, () => busy('papers'));
  const pdfGate = gate(opts.pdfConcurrency, opts.pdfConcurrency * 2, () => busy('PDFs'));

  function spawnWorker(): Worker {
    const { file, execArgv } = workerFile();
    const w = new Worker(file, { execArgv, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    w.unref();
    all.add(w);
    w.once('exit', () => {
      all.delete(w);
      const i = idle.indexOf(w);
      if (i >= 0) idle.splice(i, 1);
    });
    return w;
  }

  function parse(content: string, format: PaperFormat, title?: string, bytes?: number): Promise<IngestedPaper> {
    return textGate(
      () =>
        new Promise<IngestedPaper>((resolve, reject) => {
          const worker = idle.pop() ?? spawnWorker();
          const id = nextId++;
          const done = (fn: () => void) => {
            clearTimeout(timer);
            worker.off('message', onMessage);
            worker.off('error', onError);
            fn();
          };
          const onMessage = (reply: Reply) => {
            if (reply.id !== id) return;
            done(() => {
              idle.push(worker);
              if (reply.paper) resolve(reply.paper);
              else if (reply.error?.input) reject(new PaperInputError(reply.error.code!, reply.error.message));
              else reject(new Error(reply.error?.message ?? 'paper parsing failed'));
            });
          };
          const onError = (err: Error) => done(() => reject(err));
          const timer = setTimeout(
            () =>
              done(() => {
                void worker.terminate();
                reject(
                  new PaperInputError('PaperTooComplex', `parsing the paper took longer than ${opts.timeoutMs} ms`),
                );
              }),
            opts.timeoutMs,
          );
          worker.on('message', onMessage);
          worker.once('error', onError);
          worker.postMessage({ id, content, format, title, bytes });
        }),
    );
  }

  return {
    text: parse,
    async file(buf, filename, title) {
      if (buf.length === 0) throw new PaperInputError('EmptyPaper', 'the uploaded file is empty');
      const format = uploadFormat(buf, filename);
      if (format === 'pdf') {
        const pdf = await pdfGate(() => extractPdfText(buf, opts.pdf));
        return parse(pdf.text, 'pdf', title || pdf.title, buf.length);
      }
      return parse(decodeUtf8(buf), format, title, buf.length);
    },
    async close() {
      await Promise.all([...all].map((w) => w.terminate()));
    },
  };
}

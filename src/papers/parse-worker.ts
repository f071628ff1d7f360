// Runs in a worker thread: parses one paper's text at a time, so a large or adversarial paper costs
// this thread's time, never the API's event loop.
import { parentPort } from 'node:worker_threads';
import { ingestText, PaperInputError, type PaperFormat } from './ingest';

interface Job {
  id: number;
  content: string;
  format: PaperFormat;
  title?: string;
  bytes?: number;
}

parentPort!.on('message', (job: Job) => {
  try {
    parentPort!.postMessage({ id: job.id, paper: ingestText(job.content, job.format, job.title, job.bytes) });
  } catch (err) {
    const input = err instanceof PaperInputError;
    parentPort!.postMessage({
      id: job.id,
      error: { input, code: input ? err.code : undefined, message: (err as Error).message },
    });
  }
});

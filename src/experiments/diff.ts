// Unified diffs of files the agent wrote, computed off the event loop. A line diff's cost grows with the
// product of the two sides' differences: two large, unrelated files the agent (or a paper steering it) made
// would hold the worker's event loop, and with it every other activity's heartbeat, for as long as it runs.
// So the diff runs in a worker thread with a time limit, and a diff that does not finish in time is named,
// not shown.
import { Worker } from 'node:worker_threads';

export interface FilePair {
  /** Names shown in the patch's header (`a/x.py`, `b/x.py`). */
  from: string;
  to: string;
  before: string;
  after: string;
}

/** Most time one call's diffs may take before they are given up. */
export const DIFF_TIMEOUT_MS = 10_000;

// Plain JavaScript evaluated in the thread: it needs no compiled file of ours, under ts-node or from dist/.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { createTwoFilesPatch } = require(workerData.diff);
parentPort.postMessage(
  workerData.pairs.map((p) => createTwoFilesPatch(p.from, p.to, p.before, p.after, '', '', { context: 3 })),
);
`;

/** The patches of each pair, in order; each is a line saying why when the diffs took longer than `timeoutMs`. */
export async function patchesOffLoop(pairs: FilePair[], timeoutMs = DIFF_TIMEOUT_MS): Promise<string[]> {
  if (pairs.length === 0) return [];
  const worker = new Worker(THREAD, { eval: true, workerData: { pairs, diff: require.resolve('diff') } });
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(
        () => resolve(pairs.map((p) => `# ${p.to}: changed; the diff took over ${timeoutMs} ms and is not shown`)),
        timeoutMs,
      );
      worker.once('message', (patches: string[]) => {
        clearTimeout(timer);
        resolve(patches);
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    await worker.terminate();
  }
}

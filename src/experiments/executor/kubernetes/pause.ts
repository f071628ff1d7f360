// The wait between two reads of a Job: cut short (resolved, not rejected) when the execution is aborted, so
// the poll loop sees the abort at once and decides what it means.
export const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

// How workers show they are alive (worker-registry.ts beats, the API and /metrics read).

export const WORKER_BEAT_MS = 10_000;
/** A worker that has not beaten for this long is taken for gone. */
export const WORKER_LIVE_SECONDS = 45;

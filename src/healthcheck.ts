// The image's HEALTHCHECK, for both of its commands: the API is healthy when its /healthz answers; a worker, which
// serves no HTTP, when its registry heartbeat (worker-registry.ts) reached Postgres within the last minute. Before
// this, the same image's HTTP check marked every worker unhealthy for good.
import fs from 'node:fs';
import path from 'node:path';

/** Touched in MLR_DATA_DIR by each heartbeat that reached Postgres. */
export const ALIVE_FILE = 'worker.alive';
/** Six missed beats (every 10 s) make a worker unhealthy. */
export const ALIVE_WITHIN_MS = 60_000;

export async function healthy(env: NodeJS.ProcessEnv, now = Date.now()): Promise<boolean> {
  const file = path.join(env.MLR_DATA_DIR ?? 'data', ALIVE_FILE);
  if (fs.existsSync(file)) return now - fs.statSync(file).mtimeMs < ALIVE_WITHIN_MS;
  const res = await fetch(`http://127.0.0.1:${env.PORT ?? 8080}/healthz`, { signal: AbortSignal.timeout(4000) }).catch(
    () => undefined,
  );
  return res?.ok === true;
}

if (require.main === module) {
  void healthy(process.env).then((ok) => process.exit(ok ? 0 : 1));
}

// The Hub client: python/hub.py (huggingface_hub, the maintained client) run by the worker, with the Hub's own
// variables (HF_ENDPOINT, HF_TOKEN) and nothing else of the service's environment. Its cache is HF_HOME's layout
// (content-addressed blobs, a snapshot per commit), under the data directory, shared by the worker's runs.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { HubError, validHubId, type HubClient, type HubKind, type HubRepoInfo, type HubSummary } from '../domain/hub';

export interface HubClientOptions {
  python: string;
  /** HF_HOME for the service's downloads; experiments see its hub/ read-only. */
  home: string;
  endpoint?: string;
  token?: string;
  timeoutMs: number;
}

const SCRIPT = path.resolve(__dirname, '../../python/hub.py');

export function createHubClient(opts: HubClientOptions): HubClient {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HF_HOME: opts.home,
    HF_HUB_DISABLE_TELEMETRY: '1',
    HF_HUB_DISABLE_PROGRESS_BARS: '1',
    ...(opts.endpoint ? { HF_ENDPOINT: opts.endpoint } : {}),
    ...(opts.token ? { HF_TOKEN: opts.token } : {}),
  };
  function call<T>(args: string[], timeoutMs = opts.timeoutMs): Promise<T> {
    return new Promise((resolve, reject) => {
      execFile(
        opts.python,
        [SCRIPT, ...args],
        { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, killSignal: 'SIGKILL' },
        (err, stdout) => {
          let parsed: { error?: HubError['kind']; message?: string } | undefined;
          try {
            parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as typeof parsed;
          } catch {
            parsed = undefined;
          }
          if (parsed?.error) return reject(new HubError(parsed.error, parsed.message ?? parsed.error));
          if (err || !parsed) {
            const why = err?.killed ? `no answer within ${Math.round(timeoutMs / 1000)} s` : 'the Hub client failed';
            return reject(new HubError('unavailable', why));
          }
          resolve(parsed as T);
        },
      );
    });
  }
  const checked = (id: string) => {
    if (!validHubId(id))
      throw new HubError('missing', `${JSON.stringify(id.slice(0, 100))} is not a Hub repository id`);
    return id;
  };
  return {
    home: opts.home,
    async search(kind: HubKind, query: string, limit: number): Promise<HubSummary[]> {
      const { results } = await call<{ results: HubSummary[] }>(['search', kind, query.slice(0, 200), String(limit)]);
      return results;
    },
    async inspect(kind, id, revision) {
      return call<HubRepoInfo>(['inspect', kind, checked(id), ...(revision ? [revision] : [])]);
    },
    async fetch(kind, id, revision) {
      if (!/^[0-9a-f]{40}$/.test(revision)) throw new HubError('missing', `revision ${revision} is not a commit sha`);
      // Downloads are bounded by the size cap checked before; the time allowed is ten times a plain call's.
      const { path: dir } = await call<{ path: string }>(
        ['fetch', kind, checked(id), revision, path.join(opts.home, 'hub')],
        opts.timeoutMs * 10,
      );
      return dir;
    },
  };
}

// Hub datasets a task reads itself (upstream imdb's `load_dataset("imdb")` in train.py and eval.py): loaded
// once, at a pinned commit, when the task is prepared (python/task_datasets.py, with the task's own `datasets`,
// against HF_ENDPOINT), into a `datasets` cache inside the prepared task. Experiments, eval.py and prepare.py
// then read that cache offline; the experiment's sandbox mounts it read-only (scripts/with_datasets.py gives
// `datasets` the writable folders it takes its locks in).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HubError } from '../domain/hub';

/** Where the worker's Hub is and how it signs in: HF_ENDPOINT and HF_TOKEN (never an experiment's). */
export interface HubDataSource {
  endpoint?: string;
  token?: string;
  timeoutMs?: number;
}

export interface PinnedDataset {
  id: string;
  revision: string;
}

const SCRIPT = path.resolve(__dirname, '../../python/task_datasets.py');
/** The prepared task's `datasets` cache, beside env/ and scripts/. */
export const DATASETS_DIR = 'hf-datasets';
/** The record of what was loaded, at which commits. */
export const DATASETS_RECORD = 'hub-datasets.json';

/**
 * Loads `ids` into `<root>/hf-datasets` with the task's interpreter and records their commits. A gated, missing
 * or unloadable dataset is a HubError the caller turns into a refusal; `unavailable` is worth another attempt.
 */
export function fetchTaskDatasets(
  python: string,
  ids: readonly string[],
  root: string,
  source: HubDataSource,
): Promise<PinnedDataset[]> {
  const home = path.join(root, '.hf-home');
  const env: NodeJS.ProcessEnv = {
    PATH: `${path.dirname(python)}:/usr/bin:/bin`,
    LANG: 'C.UTF-8',
    HF_HOME: home,
    HF_DATASETS_CACHE: path.join(root, DATASETS_DIR),
    HF_HUB_DISABLE_TELEMETRY: '1',
    HF_HUB_DISABLE_PROGRESS_BARS: '1',
    HF_DATASETS_DISABLE_PROGRESS_BARS: '1',
    ...(source.endpoint ? { HF_ENDPOINT: source.endpoint } : {}),
    ...(source.token ? { HF_TOKEN: source.token } : {}),
  };
  const timeoutMs = source.timeoutMs ?? 30 * 60_000;
  return new Promise((resolve, reject) => {
    execFile(
      python,
      [SCRIPT, ...ids],
      { env, timeout: timeoutMs, maxBuffer: 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        // The raw downloads were converted into the datasets cache: only that is kept.
        fs.rmSync(home, { recursive: true, force: true });
        let parsed: { datasets?: PinnedDataset[]; error?: HubError['kind']; message?: string } | undefined;
        try {
          parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as typeof parsed;
        } catch {
          parsed = undefined;
        }
        if (parsed?.error) return reject(new HubError(parsed.error, parsed.message ?? parsed.error));
        if (err || !parsed?.datasets) {
          const tail = stderr.trim().split('\n').slice(-2).join(' | ');
          const why = err?.killed ? `no answer within ${Math.round(timeoutMs / 60_000)} minutes` : tail;
          return reject(new HubError('unavailable', `loading the task's Hub datasets failed: ${why}`));
        }
        resolve(parsed.datasets);
      },
    );
  });
}

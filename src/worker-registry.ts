// Workers announce themselves in Postgres and beat every few seconds, so that shared storage is checked, not
// assumed: a worker whose artifact store is its own disk refuses to start beside a live worker on another
// host, and admins see every worker (GET /v1/workers, /metrics).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from './config';
import { ConfigError } from './config';
import { beatWorker, joinWorkers, stopWorker } from './db/workers';
import { WORKER_BEAT_MS, WORKER_LIVE_SECONDS } from './domain/workers';
import type { Transactional } from './db/types';
import type { Logger } from './logger';

const VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string })
  .version;

export interface Registration {
  id: string;
  leave(): Promise<void>;
}

export async function joinRegistry(
  db: Transactional,
  config: Pick<Config, 'MLR_ARTIFACTS' | 'MLR_TASK_QUEUE'>,
  opts: { host?: string; logger?: Logger; beatMs?: number; aliveFile?: string } = {},
): Promise<Registration> {
  const host = opts.host ?? os.hostname();
  const id = `${host}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const store = config.MLR_ARTIFACTS;
  const clash = await joinWorkers(
    db,
    { id, host, store, version: VERSION, taskQueue: config.MLR_TASK_QUEUE },
    WORKER_LIVE_SECONDS,
  );
  if (clash) {
    throw new ConfigError(
      `worker ${clash.id} on host ${clash.host} (artifact store ${clash.store}) shares this database, and ` +
        `${store === 'fs' ? "this worker's" : 'its'} store is local to one disk: runs it holds could not be ` +
        'carried on by the other. Set MLR_ARTIFACTS=s3 (and MLR_S3_*) on every worker, or run one host only.',
    );
  }
  // Each beat that reached Postgres also touches `aliveFile`, which the image's health check reads (healthcheck.ts).
  const touch = () => {
    if (opts.aliveFile) fs.writeFileSync(opts.aliveFile, new Date().toISOString());
  };
  touch();
  const timer = setInterval(() => {
    beatWorker(db, id)
      .then(touch)
      .catch((err: unknown) => opts.logger?.warn({ err }, 'worker heartbeat failed'));
  }, opts.beatMs ?? WORKER_BEAT_MS);
  timer.unref();
  return {
    id,
    async leave() {
      clearInterval(timer);
      await stopWorker(db, id).catch(() => undefined);
    },
  };
}

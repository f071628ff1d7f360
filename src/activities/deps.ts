// What the activities are built from: narrow interfaces the composition root (worker.ts) fills with real
// clients, and tests with real Postgres and a model client pointed at a fake server.
import type { ChatModel } from '../clients/llm';
import type { Scholar } from '../clients/scholar';
import type { Config } from '../config';
import type { Transactional } from '../db/types';
import type { ArtifactStore } from '../experiments/artifacts';
import type { Executor } from '../experiments/executor/types';
import type { Isolate } from '../domain/isolate';
import type { HubClient } from '../domain/hub';

export interface ActivityDeps {
  db: Transactional;
  model: ChatModel;
  scholar: Scholar;
  config: Config;
  executor: Executor;
  store: ArtifactStore;
  /** The venv's python, for tasks' prepare.py. */
  python: string;
  /** The sandbox tasks' prepare.py runs in (prepareIsolation); none: as the worker. */
  isolatePrepare?: Isolate;
  /** The Hub (or a mirror, HF_ENDPOINT) and the worker's cache of it; none: the Hub tools say so. */
  hub?: HubClient;
}

// One measured execution's Job input, for tests that build a Job only to read what it asks of a cluster.
import type { JobInput } from '../../src/experiments/executor/kubernetes/job-spec';

export const jobInput = (gpus: number): JobInput => ({
  key: 'k',
  runId: 'r',
  role: 'measured',
  script: 'train.py',
  seed: 0,
  timeoutMs: 60_000,
  resources: { memoryMb: 1024, gpus },
  secretName: 's',
});

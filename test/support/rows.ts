// Rows the activity tests start from, inserted through the stores: a paper and a run on it, nothing else.
import { createHash } from 'node:crypto';
import { upsertPaper } from '../../src/db/papers';
import { insertRun } from '../../src/db/runs';
import type { Transactional } from '../../src/db/types';
import type { RunInput } from '../../src/workflows/definitions';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A run with the given id on a paper of its own, owned by `default`. */
export async function insertTestRun(db: Transactional, runId: string): Promise<void> {
  const { paper } = await upsertPaper(db, {
    owner: 'default',
    contentHash: sha(runId),
    title: 't',
    format: 'text',
    content: 't',
    sections: [],
    bytes: 1,
  });
  await insertRun(
    db,
    {
      id: runId,
      owner: 'default',
      paperId: paper.id,
      workflowId: runId,
      mode: 'autonomous',
      ideaCount: 1,
      requestHash: sha(runId),
      until: 'succeeded',
      input: {} as RunInput,
    },
    {},
  );
}

// Retrieval when Semantic Scholar's rate-limit queue is long: the activity is put off by a durable timer
// (a retryable failure naming the delay) instead of holding a worker slot, and after the allowed number of
// attempts the run goes on with retrieval recorded as unavailable. Real Postgres; Semantic Scholar is the
// stand-in the guide allows (a Scholar that answers "busy").
import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import type { ActivityDeps } from '../../src/activities/deps';
import { ScholarBusyError, type Scholar } from '../../src/clients/scholar';
import { upsertPaper } from '../../src/db/papers';
import { getRun, insertRun, patchRun } from '../../src/db/runs';
import type { RunInput } from '../../src/workflows/definitions';
import { createTestDatabase, testConfig } from '../support/harness';

let db: Pool;
beforeAll(async () => {
  ({ pool: db } = await createTestDatabase());
});
afterAll(async () => db.end());

const busy: Scholar = {
  async search() {
    throw new ScholarBusyError(4200);
  },
};

async function runWithKeywords(): Promise<string> {
  const id = randomUUID();
  const hash = createHash('sha256').update(id).digest('hex');
  const { paper } = await upsertPaper(db, {
    owner: 'default',
    contentHash: hash,
    title: 'A paper',
    format: 'text',
    content: 'text',
    sections: [],
    bytes: 4,
  });
  await insertRun(
    db,
    {
      id,
      owner: 'default',
      paperId: paper.id,
      workflowId: id,
      mode: 'autonomous',
      ideaCount: 1,
      requestHash: hash,
      until: 'approved',
      input: {} as RunInput,
    },
    {},
  );
  await patchRun(db, id, { keywords: ['graph', 'nets'] });
  return id;
}

const activities = () =>
  createActivities({ db, scholar: busy, config: testConfig({ MLR_S2_BUSY_RETRIES: '3' }) } as unknown as ActivityDeps);

it('is retried after the queue delay (no slot held) while attempts remain', async () => {
  const runId = await runWithKeywords();
  const env = new MockActivityEnvironment({ attempt: 2 });
  const err = (await env
    .run(activities().retrieveRelatedWork, { runId })
    .catch((e: unknown) => e)) as ApplicationFailure;
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err.type).toBe('ScholarBusy');
  expect(err.nonRetryable).toBe(false);
  expect(err.nextRetryDelay).toBe(4200);
  expect((await getRun(db, runId))!.retrieval).toBeNull(); // nothing recorded yet
});

it('records retrieval as unavailable on the last allowed attempt, and the run goes on', async () => {
  const runId = await runWithKeywords();
  const env = new MockActivityEnvironment({ attempt: 4 });
  const result = await env.run(activities().retrieveRelatedWork, { runId });
  expect(result).toEqual({ status: 'unavailable', count: 0 });
  expect((await getRun(db, runId))!.retrieval).toMatchObject({
    status: 'unavailable',
    reason: expect.stringMatching(/queue/),
  });
});

import { ideasReply, startFakeModel, weakReviewReply, type FakeModel } from '../support/fake-model';
import { startFakeScholar, type FakeScholar } from '../support/fake-scholar';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { createRun, decide, getRun, submitPaper, waitForStatus } from '../support/api';

let model: FakeModel;
let scholar: FakeScholar;
let h: Harness;
let paperId: string;

beforeAll(async () => {
  model = await startFakeModel();
  scholar = await startFakeScholar();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl,
    MLR_MAX_REVISIONS: '2',
  });
  await h.startWorker();
  paperId = await submitPaper(h.app);
});

afterAll(async () => {
  await h.close();
  await model.close();
  await scholar.close();
});

describe('a supervised research run', () => {
  it('goes from submission to awaiting approval with analysis, related work and ranked ideas, then to approved', async () => {
    const created = await createRun(h.app, { paperId, ideaCount: 3 });
    expect(created.status).toBe('queued');
    const waiting = await waitForStatus(h.app, created.id, 'awaiting_approval');
    expect(waiting.taskDefinition.problem).toBe('Classify tabular records into classes');
    expect(waiting.gaps[0].gap).toBe('No study of feature scaling');
    expect(waiting.retrieval.status).toBe('ok');
    expect(waiting.relatedWork.map((p: { title: string }) => p.title)).toContain('A shared classic');
    expect(waiting.ideas).toHaveLength(3);
    expect(waiting.ideas.map((i: { rank: number }) => i.rank)).toEqual([1, 2, 3]);
    // The fake reviewer ranks the last proposed idea first.
    expect(waiting.ideas[0].title).toBe('Idea 3');
    expect(waiting.ideas[0].experimentPlan.metric).toBe('accuracy');
    expect(waiting.usage.promptTokens).toBe(300);
    expect(waiting.usage.completionTokens).toBe(150);

    const chosen = waiting.ideas[1].id;
    const res = await decide(h.app, created.id, { decision: 'approve', ideaId: chosen });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('approved');
    expect(res.json().selectedIdeaId).toBe(chosen);

    const calls = await h.pool.query(
      'SELECT role, model, status, prompt_tokens FROM llm_calls WHERE run_id = $1 ORDER BY created_at',
      [created.id],
    );
    expect(calls.rows.map((r) => r.role)).toEqual(['analysis', 'ideation', 'review']);
    const events = await h.pool.query(
      `SELECT data->>'status' AS status FROM run_events WHERE run_id = $1 AND type = 'status' ORDER BY id`,
      [created.id],
    );
    expect(events.rows.map((r) => r.status)).toEqual([
      'analyzing',
      'retrieving',
      'ideating',
      'awaiting_approval',
      'approved',
    ]);
  });

  it('sends the feedback of a revision into the next ideation request and proposes a new round', async () => {
    const run = await createRun(h.app, { paperId, ideaCount: 2 });
    const first = await waitForStatus(h.app, run.id, 'awaiting_approval');
    const before = model.requestsFor('research_ideas').length;
    const res = await decide(h.app, run.id, {
      decision: 'revise',
      feedback: 'Focus on tree ensembles instead of scaling',
    });
    expect(res.statusCode).toBe(200);
    const second = await waitForStatus(h.app, run.id, 'awaiting_approval');
    expect(second.round).toBe(1);
    const request = model.requestsFor('research_ideas')[before]!;
    expect(request.messages.at(-1)!.content).toContain(
      'Researcher feedback: Focus on tree ensembles instead of scaling',
    );
    expect(second.ideas.map((i: { id: string }) => i.id)).not.toEqual(
      expect.arrayContaining(first.ideas.map((i: { id: string }) => i.id)),
    );
    const approved = await decide(h.app, run.id, { decision: 'approve' });
    expect(approved.json().selectedIdeaId).toBe(second.ideas[0].id);
  });

  it('ends rejected when the person rejects the ideas', async () => {
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, run.id, 'awaiting_approval');
    const res = await decide(h.app, run.id, { decision: 'reject' });
    expect(res.statusCode).toBe(200);
    expect((await getRun(h.app, run.id)).status).toBe('rejected');
  });

  it('answers 422 for an idea that is not in the run and 409 once the run no longer waits', async () => {
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, run.id, 'awaiting_approval');
    const missing = await decide(h.app, run.id, {
      decision: 'approve',
      ideaId: '00000000-0000-4000-8000-000000000000',
    });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().error.code).toBe('IdeaNotFound');
    expect((await decide(h.app, run.id, { decision: 'approve' })).statusCode).toBe(200);
    const again = await decide(h.app, run.id, { decision: 'approve' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('NotAwaitingApproval');
  });

  it('refuses a revision beyond the revision limit with 409 and keeps waiting', async () => {
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, run.id, 'awaiting_approval');
    for (let round = 1; round <= 2; round++) {
      expect((await decide(h.app, run.id, { decision: 'revise', feedback: `round ${round}` })).statusCode).toBe(200);
      await waitForStatus(h.app, run.id, 'awaiting_approval');
    }
    const refused = await decide(h.app, run.id, { decision: 'revise', feedback: 'one more' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('RevisionLimit');
    expect((await getRun(h.app, run.id)).status).toBe('awaiting_approval');
  });

  it('is cancelled while it waits for approval', async () => {
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, run.id, 'awaiting_approval');
    const res = await h.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/cancel`, headers: AUTH });
    expect(res.statusCode).toBe(202);
    await waitForStatus(h.app, run.id, 'cancelled');
    const again = await h.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/cancel`, headers: AUTH });
    expect(again.statusCode).toBe(409);
  });

  it('is cancelled while a model call is in flight', async () => {
    model.enqueue('paper_analysis', { hang: true });
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, run.id, 'analyzing');
    await model.waitFor('paper_analysis', model.requestsFor('paper_analysis').length);
    const res = await h.app.inject({ method: 'POST', url: `/v1/runs/${run.id}/cancel`, headers: AUTH });
    expect(res.statusCode).toBe(202);
    await waitForStatus(h.app, run.id, 'cancelled');
  });
});

describe('runs without a person in the loop', () => {
  it('takes the top-ranked idea at once in autonomous mode', async () => {
    const run = await createRun(h.app, { paperId, mode: 'autonomous', ideaCount: 2 });
    const done = await waitForStatus(h.app, run.id, 'approved');
    expect(done.selectedIdeaId).toBe(done.ideas.find((i: { rank: number }) => i.rank === 1).id);
  });

  it('approves the top idea when the approval timeout passes with action approve_top', async () => {
    const run = await createRun(h.app, {
      paperId,
      ideaCount: 2,
      approvalTimeout: { seconds: 1, action: 'approve_top' },
    });
    const done = await waitForStatus(h.app, run.id, 'approved');
    expect(done.selectedIdeaId).toBe(done.ideas[0].id);
  });

  it('fails with the reason when the approval timeout passes with action fail', async () => {
    const run = await createRun(h.app, { paperId, ideaCount: 1, approvalTimeout: { seconds: 1, action: 'fail' } });
    const done = await waitForStatus(h.app, run.id, 'failed');
    expect(done.error).toMatch(/no decision within the approval timeout of 1s/);
  });
});

describe('model and retrieval failures', () => {
  it('re-asks after invalid output, then fails the run with a clear reason', async () => {
    for (let i = 0; i < 3; i++) model.enqueue('paper_analysis', { content: '{"taskDefinition": "not an object"}' });
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    const done = await waitForStatus(h.app, run.id, 'failed');
    expect(done.error).toMatch(/analysis model gave invalid output 3 times; last problem: schema violations/);
    const reasks = model.requestsFor('paper_analysis').slice(-3);
    expect(reasks[1]!.messages.at(-1)!.content).toMatch(/Your previous answer was not valid/);
    const calls = await h.pool.query(`SELECT status FROM llm_calls WHERE run_id = $1`, [run.id]);
    expect(calls.rows.map((r) => r.status)).toEqual(['invalid', 'invalid', 'invalid']);
  });

  it('survives a weak reviewer: repeated, out-of-range and missing indices are repaired and recorded', async () => {
    model.enqueue('idea_review', { content: weakReviewReply(3) });
    const run = await createRun(h.app, { paperId, ideaCount: 3 });
    const waiting = await waitForStatus(h.app, run.id, 'awaiting_approval');
    // Ranks come from the scores the reviewer gave (8 beats 4); the idea it skipped comes last, unscored.
    expect(
      waiting.ideas.map((i: { title: string; rank: number; review: { score: number | null } }) => [
        i.title,
        i.rank,
        i.review.score,
      ]),
    ).toEqual([
      ['Idea 1', 1, 8],
      ['Idea 2', 2, 4],
      ['Idea 3', 3, null],
    ]);
    const calls = await h.pool.query(`SELECT status, repair FROM llm_calls WHERE run_id = $1 AND role = 'review'`, [
      run.id,
    ]);
    expect(calls.rows).toHaveLength(1); // repaired, not re-asked
    expect(calls.rows[0].status).toBe('ok');
    expect(calls.rows[0].repair).toMatch(/repeated review of index 1.*index 8.*index 2 was not reviewed/);
    const repairs = await h.pool.query(`SELECT data FROM run_events WHERE run_id = $1 AND type = 'repair'`, [run.id]);
    expect(repairs.rows[0].data).toMatchObject({
      role: 'review',
      call: 'review:0',
      repairs: expect.arrayContaining([expect.stringMatching(/index 8/)]),
    });
  });

  it('keeps the asked number of ideas when a weak model proposes more, and says so', async () => {
    model.enqueue('research_ideas', { content: ideasReply(4) });
    const run = await createRun(h.app, { paperId, ideaCount: 2 });
    const waiting = await waitForStatus(h.app, run.id, 'awaiting_approval');
    expect(waiting.ideas).toHaveLength(2);
    const calls = await h.pool.query(`SELECT repair FROM llm_calls WHERE run_id = $1 AND role = 'ideation'`, [run.id]);
    expect(calls.rows.map((r) => r.repair)).toEqual(['kept the first 2 of 4 ideas']);
  });

  it('accepts valid output after one invalid answer', async () => {
    model.enqueue('paper_analysis', { content: 'not json at all' });
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, run.id, 'awaiting_approval');
    const calls = await h.pool.query(
      `SELECT status FROM llm_calls WHERE run_id = $1 AND role = 'analysis' ORDER BY created_at`,
      [run.id],
    );
    expect(calls.rows.map((r) => r.status)).toEqual(['invalid', 'ok']);
  });

  it('retries after a 429 honouring retry-after and then succeeds', async () => {
    model.enqueue('research_ideas', { status: 429, headers: { 'retry-after': '1' } });
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    await waitForStatus(h.app, run.id, 'awaiting_approval');
    const calls = await h.pool.query(
      `SELECT status, error, created_at FROM llm_calls WHERE run_id = $1 AND role = 'ideation' ORDER BY created_at`,
      [run.id],
    );
    expect(calls.rows.map((r) => r.status)).toEqual(['error', 'ok']);
    expect(calls.rows[0].error).toMatch(/429/);
    expect(calls.rows[1].created_at.getTime() - calls.rows[0].created_at.getTime()).toBeGreaterThanOrEqual(900);
  });

  it('fails at once without retrying when the model endpoint answers 401', async () => {
    model.enqueue('paper_analysis', { status: 401 });
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    const done = await waitForStatus(h.app, run.id, 'failed');
    expect(done.error).toMatch(/model endpoint answered 401/);
    const calls = await h.pool.query(`SELECT status FROM llm_calls WHERE run_id = $1`, [run.id]);
    expect(calls.rows).toHaveLength(1);
  });

  it('records retrieval unavailable and continues when Semantic Scholar is down', async () => {
    scholar.failNext(503, 503);
    const run = await createRun(h.app, {
      paperId: await submitPaper(h.app, '# Another paper\n\n## Abstract\nSomething else entirely.'),
      ideaCount: 1,
    });
    const waiting = await waitForStatus(h.app, run.id, 'awaiting_approval');
    expect(waiting.retrieval).toEqual({ status: 'unavailable', reason: expect.stringMatching(/HTTP 503/) });
    expect(waiting.relatedWork).toEqual([]);
    const ideation = model.requestsFor('research_ideas').at(-1)!;
    expect(ideation.messages.at(-1)!.content).toContain('related-work retrieval was unavailable');
  });
});

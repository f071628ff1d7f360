import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { createRun, createTaskRun, submitPaper, waitForStatus } from '../support/api';
import { SCALED_TRAIN } from '../support/train-scripts';
import { unmeasuredNumbers } from '../../src/validation/provenance';
import { usageForRun } from '../../src/db/llm-calls';
import { diffStats } from '../../src/validation/report';

let model: FakeModel;
let h: Harness;
let paperId: string;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl, MLR_VALIDATION_PARALLELISM: '2' });
  await h.startWorker();
  paperId = await submitPaper(h.app);
});
afterAll(async () => {
  await h.close();
  await model.close();
});

/** What the report's numbers must come from, read straight from Postgres. */
async function storedRecords(runId: string): Promise<unknown[]> {
  const run = (await h.pool.query('SELECT * FROM runs WHERE id = $1', [runId])).rows[0];
  const exps = (
    await h.pool.query('SELECT * FROM experiments WHERE id = ANY($1::uuid[])', [
      run.validation.runs.map((r: { experimentId: string }) => r.experimentId),
    ])
  ).rows;
  const idea = (await h.pool.query('SELECT body FROM ideas WHERE id = $1', [run.selected_idea_id])).rows;
  const snap = (
    await h.pool.query('SELECT diff FROM snapshots WHERE run_id = $1 AND code_hash = $2', [
      runId,
      run.validation.runs.find((r: { role: string }) => r.role === 'candidate').codeHash,
    ])
  ).rows[0];
  const provenance = (await h.pool.query("SELECT data->'provenance' AS p FROM reports WHERE run_id = $1", [runId]))
    .rows[0].p;
  return [run.validation, exps, await usageForRun(h.pool, runId), run.gaps, idea, diffStats(snap.diff), provenance];
}

async function validatedRun(discussion?: string[]) {
  model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: SCALED_TRAIN } });
  model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Standardised the features.' } });
  for (const text of discussion ?? [])
    model.enqueue('report_discussion', {
      content: JSON.stringify({ interpretation: text, limitations: ['One data set only.'] }),
    });
  const run = await createTaskRun(h.app, paperId, { until: 'succeeded', validationSeeds: 4 });
  return waitForStatus(h.app, run.id, 'succeeded', 180_000);
}

describe('the validation stage and the report', () => {
  let done: Awaited<ReturnType<typeof validatedRun>>;
  beforeAll(async () => {
    done = await validatedRun([
      'Scaling the features made the classifier clearly better and more stable across seeds.',
    ]);
  }, 240_000);

  it('re-runs baseline and candidate over the seeds and records the statistics and the verdict', async () => {
    const v = done.validation;
    expect(v.seeds).toEqual([1, 2, 3, 4]);
    expect(v.runs.map((r: { role: string; seed: number }) => `${r.role}:${r.seed}`)).toEqual([
      'baseline:1',
      'candidate:1',
      'baseline:2',
      'candidate:2',
      'baseline:3',
      'candidate:3',
      'baseline:4',
      'candidate:4',
    ]);
    expect(v.test).toBe('permutation_exact');
    expect(v.baseline.values).toHaveLength(4);
    expect(v.candidate.mean).toBeGreaterThan(v.baseline.mean);
    // Four seeds per arm, every candidate seed above every baseline seed: the exact test's smallest p, 2/70,
    // below 0.05. With three (which runs accepted before) it could not go below 0.1, and nothing was ever supported.
    expect(v.pValue).toBeCloseTo(2 / 70, 12);
    expect(v.verdict).toBe('supported');
    expect(v.rule).toMatch(/exact two-sided permutation test/);
    const statuses = (
      await h.pool.query(
        `SELECT data->>'status' AS s FROM run_events WHERE run_id = $1 AND type = 'status' ORDER BY id`,
        [done.id],
      )
    ).rows.map((r) => r.s);
    expect(statuses.slice(-3)).toEqual(['executing', 'validating', 'succeeded']);
  });

  it('serves the report as Markdown, JSON and HTML, and every number in it is on record', async () => {
    const md = await h.app.inject({ method: 'GET', url: `/v1/runs/${done.id}/report`, headers: AUTH });
    expect(md.headers['content-type']).toMatch(/text\/markdown/);
    for (const section of [
      '## Verdict',
      '## Idea and hypothesis',
      '## Experiment plan',
      '## Code changes',
      '## Results',
      '## Checks',
      '## Discussion',
      '## Limitations',
      '## Provenance',
    ]) {
      expect(md.body).toContain(section);
    }
    expect(md.body).toContain('**supported**');
    expect(md.body).toContain('Scaling the features made the classifier clearly better');
    expect(unmeasuredNumbers(md.body, await storedRecords(done.id))).toEqual([]);

    const json = (
      await h.app.inject({ method: 'GET', url: `/v1/runs/${done.id}/report?format=json`, headers: AUTH })
    ).json();
    expect(json.validation.verdict).toBe('supported');
    expect(json.provenance).toMatchObject({
      python: expect.stringMatching(/^3\./),
      packages: { 'scikit-learn': expect.any(String) },
      models: ['fake-model'],
    });
    expect(json.provenance.computeTimeMs).toBeGreaterThan(0);
    const html = await h.app.inject({
      method: 'GET',
      url: `/v1/runs/${done.id}/report`,
      headers: { ...AUTH, accept: 'text/html' },
    });
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body).toMatch(/^<!doctype html>[\s\S]*<h2>Verdict<\/h2>[\s\S]*<table>/);
    // It stands on its own: the chart is inline SVG, not an image behind the bearer token.
    expect(html.body).not.toContain('<img');
    expect(html.body).toMatch(/<figure><svg[\s\S]*<\/svg><\/figure>/);
  });

  it('renders the chart as valid SVG with a point per seed and a mean and interval per arm', async () => {
    const res = await h.app.inject({ method: 'GET', url: `/v1/runs/${done.id}/report/chart.svg`, headers: AUTH });
    expect(res.headers['content-type']).toBe('image/svg+xml');
    const svg = res.body;
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    const marks = (role: string) =>
      (svg.match(new RegExp(`<g class="mark-${role} role-mark[^"]*"[^>]*>([\\s\\S]*?)</g>`)) ?? [])[1] ?? '';
    expect(marks('symbol').match(/<path/g)).toHaveLength(8);
    expect(marks('rule').match(/<line/g)).toHaveLength(2);
    expect(marks('rect').match(/<path/g)).toHaveLength(2);
    expect(svg).toContain('accuracy over 4 seeds');
  });

  it('withholds a discussion that keeps stating numbers nobody measured', async () => {
    const invented = 'Accuracy rose by 12.34 points, a huge effect.';
    const run = await validatedRun([invented, invented, invented]);
    const md = (await h.app.inject({ method: 'GET', url: `/v1/runs/${run.id}/report`, headers: AUTH })).body;
    expect(md).not.toContain('12.34');
    expect(md).toContain('discussion was withheld');
    const asks = model.requestsFor('report_discussion').slice(-3);
    expect(asks[1]!.messages.at(-1)!.content).toMatch(/numbers that were not measured \(12\.34\)/);
    expect(unmeasuredNumbers(md, await storedRecords(run.id))).toEqual([]);
    expect(
      unmeasuredNumbers(md.replace('## Limitations', 'We saw 12.34.\n## Limitations'), await storedRecords(run.id)),
    ).toEqual(['12.34']);
  }, 240_000);

  it('answers 409 for the report of a run that has not been validated', async () => {
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    const res = await h.app.inject({ method: 'GET', url: `/v1/runs/${run.id}/report`, headers: AUTH });
    expect([res.statusCode, res.json().error.code]).toEqual([409, 'NoReport']);
  });
});

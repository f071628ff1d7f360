// An experiment that retrieves a model from the Hub (the stand-in, as a mirror: HF_ENDPOINT): the agent searches,
// is refused a non-free and a gated repository, fetches an open one pinned to its commit, and its script loads it
// offline from a read-only cache, without the Hub token. Any worker can rebuild the run's view at the pinned commit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHubClient } from '../../src/clients/hub';
import { createHubAccess } from '../../src/activities/hub';
import { hubReposForRun } from '../../src/db/hub-repos';
import { startFakeHub, type FakeHub } from '../support/fake-hub';
import { ideasReply, startFakeModel, type FakeModel } from '../support/fake-model';
import { GATED_MODEL, NONFREE_MODEL, TINY_DATASET, TINY_MODEL } from '../support/hub-repos';
import { createHarness, type Harness } from '../support/harness';
import { createRun, createTaskRun, decide, getRun, submitPaper, waitForStatus } from '../support/api';
import { ROOT } from '../support/paths';

const TOKEN = 'hf_do_not_show_experiments';
let model: FakeModel;
let hubServer: FakeHub;
let h: Harness;
let paperId: string;
let sha: string;

beforeAll(async () => {
  [model, hubServer] = await Promise.all([startFakeModel(), startFakeHub()]);
  sha = hubServer.add(TINY_MODEL).sha;
  hubServer.add(NONFREE_MODEL);
  hubServer.add(GATED_MODEL);
  hubServer.add(TINY_DATASET);
  h = await createHarness({ OPENAI_BASE_URL: model.baseUrl, HF_ENDPOINT: hubServer.endpoint, HF_TOKEN: TOKEN });
  await h.startWorker();
  paperId = await submitPaper(h.app);
});
afterAll(async () => {
  await h.close();
  await Promise.all([model.close(), hubServer.close()]);
});

// Run inside the sandbox: what the experiment sees of the Hub.
const USE_HUB = `
import json, os
from huggingface_hub import snapshot_download
path = snapshot_download("${TINY_MODEL.id}")
print("coef", json.load(open(os.path.join(path, "weights", "coef.json")))["coef"])
print("token visible", "HF_TOKEN" in os.environ or any("${TOKEN}" in v for v in os.environ.values()))
print("offline", os.environ.get("HF_HUB_OFFLINE"))
print("repos", sorted(os.listdir(os.path.join(os.environ["HF_HOME"], "hub"))))
try:
    open(os.path.join(path, "config.json"), "w").write("tampered")
    print("write allowed")
except OSError as e:
    print("write refused", type(e).__name__)
`;

describe('an experiment with a model from the Hub', () => {
  it('searches, is refused what it may not take, fetches a pinned commit and loads it offline', async () => {
    const steps: Array<[string, Record<string, unknown>]> = [
      ['hub_search', { kind: 'model', query: 'tabular classifier' }],
      ['hub_fetch', { kind: 'model', repo_id: NONFREE_MODEL.id }],
      ['hub_fetch', { kind: 'model', repo_id: GATED_MODEL.id }],
      ['hub_inspect', { kind: 'model', repo_id: TINY_MODEL.id }],
      ['hub_fetch', { kind: 'model', repo_id: TINY_MODEL.id }],
      ['write_file', { file_name: 'use_hub.py', content: USE_HUB }],
      ['execute_script', { script_name: 'use_hub.py' }],
      ['final_answer', { final_answer: 'Loaded the tiny classifier.' }],
    ];
    for (const [tool, args] of steps) model.enqueue('agent', { tool, args });
    const run = await createTaskRun(h.app, paperId);
    await waitForStatus(h.app, run.id, 'succeeded', 180_000);

    const obs = (
      await h.pool.query<{ tool: string; observation: string }>(
        'SELECT tool, observation FROM agent_steps WHERE run_id = $1 ORDER BY step',
        [run.id],
      )
    ).rows;
    const [search, nonfree, gated, inspect, fetched, , executed] = obs;
    // Ranked: the open repository first; the non-free one listed but marked.
    expect(search!.observation.split('\n')[1]).toMatch(
      /^1\. acme\/tiny-tabular-classifier \(fit 100%; licence apache-2.0/,
    );
    expect(search!.observation).toMatch(/acme\/tabular-classifier-nc .*cc-by-nc-4.0 not allowed.* — cannot be fetched/);
    expect(nonfree!.observation).toMatch(/\(refused\): not fetched: .*cc-by-nc-4.0, which is not allowed/);
    expect(gated!.observation).toMatch(/is gated/);
    expect(inspect!.observation).toContain(`at commit ${sha}; licence apache-2.0`);
    expect(fetched!.observation).toContain(`Fetched model ${TINY_MODEL.id} at commit ${sha}`);
    expect(executed!.observation).toContain('coef [0.5, -0.25, 1]');
    expect(executed!.observation).toContain('token visible False');
    expect(executed!.observation).toContain('offline 1');
    expect(executed!.observation).toContain("repos ['models--acme--tiny-tabular-classifier']");
    expect(executed!.observation).toContain('write refused');

    expect(await hubReposForRun(h.pool, run.id)).toEqual([
      {
        kind: 'model',
        id: TINY_MODEL.id,
        revision: sha,
        files: expect.arrayContaining(['config.json', 'weights/coef.json']),
        bytes: Object.values(TINY_MODEL.files).reduce((n, f) => n + Buffer.byteLength(f), 0),
        licence: 'apache-2.0',
      },
    ]);
    // The run's view lists them as well, pinned.
    expect((await getRun(h.app, run.id)).hub).toEqual([
      expect.objectContaining({ kind: 'model', id: TINY_MODEL.id, revision: sha, licence: 'apache-2.0' }),
    ]);
    // Only the Hub ever got the token.
    expect(hubServer.authorizations.every((a) => a === `Bearer ${TOKEN}`)).toBe(true);
  });

  it("rebuilds a run's view on a worker whose cache lacks it, at the pinned commit, even after the Hub moved on", async () => {
    const runs = await h.pool.query<{ run_id: string }>('SELECT run_id FROM hub_repos LIMIT 1');
    const runId = runs.rows[0]!.run_id;
    // The repository changes on the Hub after the run pinned it.
    const moved = hubServer.add({ ...TINY_MODEL, files: { ...TINY_MODEL.files, 'config.json': '{"v": 2}' } }).sha;
    expect(moved).not.toBe(sha);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'other-worker-'));
    try {
      const other = createHubClient({
        python: path.join(ROOT, '.venv/bin/python'),
        home,
        endpoint: hubServer.endpoint,
        timeoutMs: 60_000,
      });
      const view = await createHubAccess({ db: h.pool, hub: other, config: h.config }).view(runId);
      expect(view!.home).toBe(path.join(home, 'views', runId));
      const refs = path.join(view!.home, 'hub', 'models--acme--tiny-tabular-classifier', 'refs', 'main');
      expect(fs.readFileSync(refs, 'utf8')).toBe(sha);
      const config = path.join(
        view!.home,
        'hub',
        'models--acme--tiny-tabular-classifier',
        'snapshots',
        sha,
        'config.json',
      );
      expect(fs.readFileSync(config, 'utf8')).toBe(TINY_MODEL.files['config.json']);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('a plan that names Hub models and datasets', () => {
  it("shows them for approval, takes the person's change, retrieves them before the agent starts, and tells it", async () => {
    const planned = JSON.parse(ideasReply(1)) as { ideas: Array<{ experimentPlan: Record<string, unknown> }> };
    planned.ideas[0]!.experimentPlan.hub = [
      { kind: 'model', id: NONFREE_MODEL.id },
      { kind: 'model', id: TINY_MODEL.id },
    ];
    model.respond('research_ideas', () => ({ content: JSON.stringify(planned) }));
    const run = await createRun(h.app, { paperId, ideaCount: 1, until: 'measured', taskId: 'breast-cancer' });
    const waiting = await waitForStatus(h.app, run.id, 'awaiting_approval');
    const idea = waiting.ideas[0];
    expect(idea.experimentPlan.hub).toEqual(planned.ideas[0]!.experimentPlan.hub);

    // Bad changes get a clear 400 and change nothing.
    for (const [body, why] of [
      [{ decision: 'revise', feedback: 'more', hub: [{ kind: 'model', id: TINY_MODEL.id }] }, /names its ideaId/],
      [{ decision: 'approve', hub: [{ kind: 'model', id: TINY_MODEL.id }] }, /names its ideaId/],
      [{ decision: 'approve', ideaId: idea.id, hub: [{ kind: 'model', id: '../../etc' }] }, /not a Hub repository id/],
      [{ decision: 'approve', ideaId: '00000000-0000-4000-8000-000000000000', hub: [] }, /not one of this run's ideas/],
      [{ decision: 'approve', ideaId: idea.id, hub: [{ kind: 'space', id: 'a/b' }] }, /kind/],
    ] as const) {
      const res = await decide(h.app, run.id, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(why);
    }
    expect((await waitForStatus(h.app, run.id, 'awaiting_approval')).ideas[0].experimentPlan.hub).toHaveLength(2);
    // The person drops the non-free model and adds a dataset.
    const hub = [
      { kind: 'model', id: TINY_MODEL.id },
      { kind: 'dataset', id: TINY_DATASET.id },
      { kind: 'model', id: GATED_MODEL.id },
    ];
    const before = model.requestsFor('agent').length;
    expect((await decide(h.app, run.id, { decision: 'approve', ideaId: idea.id, hub })).statusCode).toBe(200);
    await waitForStatus(h.app, run.id, 'succeeded', 180_000);

    const events = await h.pool.query(
      `SELECT data FROM run_events WHERE run_id = $1 AND type = 'hub_retrieval' ORDER BY id`,
      [run.id],
    );
    expect(events.rows.map((r) => [r.data.id, r.data.revision ? 'fetched' : r.data.reason])).toEqual([
      [TINY_MODEL.id, 'fetched'],
      [TINY_DATASET.id, 'fetched'],
      [GATED_MODEL.id, 'gated'],
    ]);
    const repos = await hubReposForRun(h.pool, run.id);
    expect(repos.map((r) => `${r.kind} ${r.id}`)).toEqual([`dataset ${TINY_DATASET.id}`, `model ${TINY_MODEL.id}`]);
    const told = model
      .requestsFor('agent')
      [before]!.messages.map((m) => m.content ?? '')
      .join('\n');
    for (const r of repos) expect(told).toContain(`- ${r.kind} ${r.id} at commit ${r.revision}`);
    expect(told).toContain(`Planned but not retrieved (see the run's events for why): model ${GATED_MODEL.id}.`);
    expect(told).not.toContain(NONFREE_MODEL.id);
  });
});

// `npm start`'s process as a user runs it: the embedded stack survives `kill -9` of its whole process
// tree, and SIGTERM shuts it down cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, isAlive } from '../src/stack/processes';
import { startFakeModel, type FakeModel } from './support/fake-model';
import { SAMPLE_PAPER } from './support/api';
import { ROOT, TEST_DATA } from './support/paths';

const TOKEN = 'main-test-token-0123456789';
let model: FakeModel;
let dataDir: string;
let port: number;

beforeAll(async () => {
  model = await startFakeModel();
  dataDir = path.join(TEST_DATA, `main-${Date.now()}`);
  port = await freePort();
});
const started: ChildProcess[] = [];
afterAll(async () => {
  // A failed assertion must not leave a stack running (it would also keep jest alive).
  for (const child of started) if (child.pid && isAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  await model.close();
});

function startStack(): ChildProcess {
  fs.mkdirSync(dataDir, { recursive: true });
  const log = fs.openSync(path.join(dataDir, 'stack.log'), 'a'); // read it when this test fails
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    detached: true, // its own process group, so the test can kill the whole tree at once
    stdio: ['ignore', log, log],
    env: {
      PATH: process.env.PATH,
      MLR_DATA_DIR: dataDir,
      PORT: String(port),
      MLR_API_TOKENS: TOKEN,
      MLR_MODEL: 'fake-model',
      OPENAI_BASE_URL: model.baseUrl,
      OPENAI_API_KEY: 'sk-test',
      SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/graph/v1',
      MLR_S2_RETRIES: '0',
      MLR_TEMPORAL_UI: 'false',
      LOG_LEVEL: 'warn',
    },
  });
  started.push(child);
  return child;
}

async function api(method: string, url: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & { id: string; status: string } };
}

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const ready = () =>
  until(async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), 'readiness');
const statusIs = (id: string, status: string) =>
  until(
    async () => ((await api('GET', `/v1/runs/${id}`)).json.status === status ? true : undefined),
    `run ${id} to be ${status}`,
  );

it('comes back after kill -9 of the whole process tree with every run intact, and stops cleanly on SIGTERM', async () => {
  const first = startStack();
  await ready();
  const paper = await api('POST', '/v1/papers', { content: SAMPLE_PAPER, format: 'markdown' });
  // Run A will be inside its experiment stage at the kill; run B inside a model call.
  const experimenting = await api('POST', '/v1/runs', {
    paperId: paper.json.id,
    ideaCount: 2,
    taskId: 'breast-cancer',
    until: 'measured',
  });
  await statusIs(experimenting.json.id, 'awaiting_approval');
  model.enqueue('paper_analysis', { hang: true });
  const inFlight = await api('POST', '/v1/runs', { paperId: paper.json.id, ideaCount: 1, until: 'approved' });
  await model.waitFor('paper_analysis', 2);
  const approved = await api('POST', `/v1/runs/${experimenting.json.id}/approval`, { decision: 'approve' });
  expect(approved.status).toBe(200);
  expect(approved.json.selectedIdeaId).toEqual(expect.any(String));
  await until(
    async () =>
      ['implementing', 'executing'].includes((await api('GET', `/v1/runs/${experimenting.json.id}`)).json.status)
        ? true
        : undefined,
    'the experiment stage',
  );

  process.kill(-first.pid!, 'SIGKILL');
  await new Promise((r) => first.once('exit', r));

  const second = startStack();
  try {
    await ready();
    await statusIs(experimenting.json.id, 'succeeded');
    await statusIs(inFlight.json.id, 'awaiting_approval');
    const done = (await api('GET', `/v1/runs/${experimenting.json.id}`)).json as unknown as {
      experiments: Array<{ role: string; status: string }>;
      result: { metric: string };
    };
    expect(done.experiments.filter((e) => e.role === 'baseline')).toHaveLength(1);
    expect(done.experiments.filter((e) => e.role === 'candidate').map((e) => e.status)).toEqual(['succeeded']);
    expect(done.result.metric).toBe('accuracy');
    // At most the agent step in flight at the kill was asked again.
    expect(model.requestsFor('agent').length).toBeLessThanOrEqual(2);

    const exited = new Promise<number | null>((r) => second.once('exit', (code) => r(code)));
    process.kill(second.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'temporal', 'temporal.pid'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'data', 'postmaster.pid'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'mlr.pid'))).toBe(false);
  } finally {
    if (second.pid && isAlive(second.pid)) process.kill(-second.pid, 'SIGKILL');
  }
}, 240_000);

it('keeps a campaign whole through kill -9 during fan-out and during experiments: no run lost or started twice', async () => {
  dataDir = path.join(TEST_DATA, `main-campaign-${Date.now()}`);
  let stack = startStack();
  const kill = async () => {
    process.kill(-stack.pid!, 'SIGKILL');
    await new Promise((r) => stack.once('exit', r));
  };
  try {
    await ready();
    const paperIds: string[] = [];
    for (let i = 0; i < 8; i++) {
      paperIds.push(
        (await api('POST', '/v1/papers', { content: `${SAMPLE_PAPER}\n(${i})`, format: 'markdown' })).json.id,
      );
    }
    const created = await api('POST', '/v1/campaigns', {
      name: 'Crash test',
      paperIds,
      mode: 'autonomous',
      taskId: 'breast-cancer',
      until: 'measured',
      maxConcurrentRuns: 3,
      budget: { usd: 100 },
    });
    expect(created.status).toBe(201);
    const id = created.json.id;
    type View = { status: string; runs: { total: number; created: number; byStatus: Record<string, number> } };
    const view = async () => (await api('GET', `/v1/campaigns/${id}`)).json as unknown as View;

    // During fan-out: some runs exist, most are still to be created.
    await until(async () => ((await view()).runs.created > 0 ? true : undefined), 'the first runs');
    await kill();
    stack = startStack();
    await ready();
    // During experiments: a run is executing its candidate.
    await until(
      async () => {
        const runs = (await api('GET', `/v1/runs?campaignId=${id}&status=executing`)).json as unknown as {
          items: unknown[];
        };
        return runs.items.length > 0 ? true : undefined;
      },
      'a run executing',
      180_000,
    );
    await kill();
    stack = startStack();
    await ready();

    const done = await until(
      async () => {
        const v = await view();
        return v.status === 'completed' ? v : undefined;
      },
      'the campaign to complete',
      240_000,
    );
    expect(done.runs).toEqual({ total: 8, created: 8, byStatus: { succeeded: 8 } });
    const listed = (await api('GET', `/v1/runs?campaignId=${id}&limit=100`)).json as unknown as {
      items: Array<{
        id: string;
        paperId: string;
        campaign: { slot: number };
        experiments: Array<{ role: string; status: string }>;
      }>;
    };
    expect(new Set(listed.items.map((r) => r.campaign.slot)).size).toBe(8);
    expect(new Set(listed.items.map((r) => r.paperId))).toEqual(new Set(paperIds));
    for (const run of listed.items) {
      expect(run.experiments.filter((e) => e.role === 'candidate').map((e) => e.status)).toEqual(['succeeded']);
    }
  } finally {
    if (stack.pid && isAlive(stack.pid)) process.kill(-stack.pid, 'SIGKILL');
  }
}, 600_000);

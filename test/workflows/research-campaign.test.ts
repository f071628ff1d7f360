// The campaign workflow on the real Temporal dev server, with a stand-in research run (fixtures/) and
// in-memory activities: its window, its accounting across continue-as-new, pause, budget and cancel.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Budget } from '../../src/domain/budget';
import {
  campaignStateQuery,
  campaignWorkflowId,
  topUpUpdate,
  type CampaignInput,
  type CampaignSnapshot,
} from '../../src/workflows/campaign-definitions';
import { pauseSignal, resumeSignal, workflowIdFor, type ChildNote } from '../../src/workflows/definitions';
import { stack, testTimeouts } from '../support/harness';
import { scriptSignal, workingQuery } from './fixtures/campaign-children';

let bundle: WorkflowBundleWithSourceMap;
let connection: Connection;
let client: Client;
const taskQueue = `campaign-fast-${randomUUID()}`;
const created = new Map<string, number>(); // campaign:slot → times created
const statuses: Array<{ campaignId: string; status: string }> = [];
/** The statuses a campaign recorded, a local activity's repeat (it may run twice) counted once. */
const recorded = (campaignId: string) =>
  statuses
    .filter((x) => x.campaignId === campaignId)
    .map((x) => x.status)
    .filter((x, i, all) => x !== all[i - 1]);
const runOf = new Map<string, string>(); // campaign:slot → runId
let fits = false;
const toppedUp: Budget[] = [];

const activities = {
  async recordCampaign(i: { campaignId: string; status: string }) {
    statuses.push({ campaignId: i.campaignId, status: i.status });
  },
  async topUpCampaign(i: { campaignId: string; add: Budget }) {
    toppedUp.push(i.add);
    return i.add;
  },
  async createCampaignRuns(i: { campaignId: string; slots: Array<{ slot: number }> }) {
    return i.slots.map(({ slot }) => {
      const key = `${i.campaignId}:${slot}`;
      created.set(key, (created.get(key) ?? 0) + 1);
      if (!runOf.has(key)) runOf.set(key, randomUUID());
      return { slot, runId: runOf.get(key)! };
    });
  },
  async campaignRunNotes(): Promise<ChildNote[]> {
    return [];
  },
  async budgetFits() {
    return fits;
  },
  async sendWebhook() {},
};

let worker: Worker;
let running: Promise<void>;
let native: NativeConnection;

beforeAll(async () => {
  bundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'fixtures', 'campaign-children.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) },
  });
  connection = await Connection.connect({ address: stack().temporalAddress });
  client = new Client({ connection, namespace: 'default' });
  native = await NativeConnection.connect({ address: stack().temporalAddress });
  worker = await Worker.create({
    connection: native,
    namespace: 'default',
    taskQueue,
    workflowBundle: bundle,
    activities,
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker.shutdown();
  await running;
  await native.close();
  await connection.close();
});

function campaign(over: Partial<CampaignInput> & { papers: number }): CampaignInput {
  const { papers, ...rest } = over;
  return {
    campaignId: randomUUID(),
    paperIds: Array.from({ length: papers }, () => randomUUID()),
    runsPerPaper: 1,
    template: {
      mode: 'supervised',
      ideaCount: 3,
      maxRevisions: 1,
      timeouts: testTimeouts,
      until: 'approved',
      experiment: { maxSteps: 1, maxDebugIterations: 0, execTimeoutSeconds: 60 },
      validation: { seeds: 3, parallelism: 1 },
    },
    maxConcurrentRuns: 3,
    historyLimit: 10_000,
    ...rest,
  };
}

const start = (input: CampaignInput) =>
  client.workflow.start('researchCampaign', {
    taskQueue,
    workflowId: campaignWorkflowId(input.campaignId),
    args: [input],
  });

async function until(
  input: CampaignInput,
  ok: (s: CampaignSnapshot) => boolean,
  what: string,
): Promise<CampaignSnapshot> {
  const handle = client.workflow.getHandle(campaignWorkflowId(input.campaignId));
  let last: CampaignSnapshot | undefined;
  for (let i = 0; i < 300; i++) {
    last = await handle.query(campaignStateQuery);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`campaign never reached: ${what}; last ${JSON.stringify(last)}`);
}

const runIdOf = (input: CampaignInput, slot: number) => runOf.get(`${input.campaignId}:${slot}`)!;
/** Tells a stand-in run what to report; the campaign counts a run as started a moment before its start lands. */
async function script(input: CampaignInput, slot: number, note: Omit<ChildNote, 'slot' | 'runId'>): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await client.workflow.getHandle(workflowIdFor(runIdOf(input, slot))).signal(scriptSignal, note);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
const runHandle = (input: CampaignInput, slot: number) =>
  client.workflow.getHandle(workflowIdFor(runIdOf(input, slot)));
const createdSlots = (input: CampaignInput) => [...created.keys()].filter((k) => k.startsWith(input.campaignId));

describe('the campaign workflow', () => {
  it('keeps at most maxConcurrentRuns working, starts each paper first and its other ranks once ideas exist', async () => {
    const input = campaign({ papers: 4, runsPerPaper: 2, maxConcurrentRuns: 3 });
    const handle = await start(input);
    let s = await until(input, (x) => x.started === 3, 'three started');
    // The first three papers' first runs; their second ranks wait for a free place in the window.
    expect(createdSlots(input).sort()).toEqual([0, 2, 4].map((slot) => `${input.campaignId}:${slot}`).sort());
    expect(s.active).toBe(3);
    await script(input, 0, { kind: 'finished', status: 'succeeded' });
    s = await until(input, (x) => x.started === 4, 'a fourth started');
    // A paper with ideas goes before a new paper: a second rank (odd slot), not paper 3's first run (slot 6).
    const fourth = Number(createdSlots(input)[3]!.split(':')[1]);
    expect(fourth % 2).toBe(1);
    expect(s.active).toBe(3);
    // Finish every run once, in the order they were created; the window lets the rest in as places free up.
    const told = new Set([`${input.campaignId}:0`]);
    while (told.size < 8) {
      const next = createdSlots(input).find((k) => !told.has(k));
      if (!next) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      told.add(next);
      expect((await handle.query(campaignStateQuery)).active).toBeLessThanOrEqual(3);
      await script(input, Number(next.split(':')[1]), { kind: 'finished', status: 'succeeded' });
    }
    const result = (await handle.result()) as CampaignSnapshot;
    expect(result).toMatchObject({
      status: 'completed',
      started: 8,
      active: 0,
      skipped: 0,
      finished: { succeeded: 8 },
    });
    expect([...created.entries()].filter(([k, n]) => k.startsWith(input.campaignId) && n !== 1)).toEqual([]);
    expect(recorded(input.campaignId)).toEqual(['running', 'completed']);
  });

  it('does not count runs waiting for a decision against the window', async () => {
    const input = campaign({ papers: 5, maxConcurrentRuns: 2 });
    const handle = await start(input);
    await until(input, (x) => x.started === 2, 'two started');
    await script(input, 0, { kind: 'status', status: 'awaiting_approval' });
    await script(input, 1, { kind: 'status', status: 'awaiting_approval' });
    const s = await until(input, (x) => x.started === 4, 'two more started');
    expect(s).toMatchObject({ active: 4, parked: 2 });
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  });

  it('gives a run back from a decision a place only when one is free, never more working than the window', async () => {
    const input = campaign({ papers: 3, maxConcurrentRuns: 2 });
    const handle = await start(input);
    await until(input, (x) => x.started === 2, 'two started');
    await script(input, 0, { kind: 'status', status: 'awaiting_approval' });
    await script(input, 1, { kind: 'status', status: 'awaiting_approval' });
    // Both wait on a person: the third paper's run takes the place.
    await until(input, (x) => x.started === 3 && x.parked === 2, 'the third started');
    /** Of the unfinished stand-ins, those that work, once `n` do: a grant reaches its run a moment after. */
    const working = async (n: number, unfinished = [0, 1, 2]) => {
      for (let i = 0; ; i++) {
        const w = await Promise.all(unfinished.map((s) => runHandle(input, s).query(workingQuery)));
        const slots = unfinished.filter((_, k) => w[k]);
        if (slots.length === n || i > 100) return slots;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // Both are approved and ask for a place; one is free.
    await script(input, 0, { kind: 'status', status: 'awaiting_slot' });
    await until(input, (x) => x.parked === 1, 'the first granted');
    await script(input, 1, { kind: 'status', status: 'awaiting_slot' });
    await until(input, (x) => x.awaitingSlot === 1, 'the second waiting for a place');
    expect(await working(2)).toEqual([0, 2]);
    // A place frees: the waiting run gets it before any new run would.
    await script(input, 2, { kind: 'finished', status: 'succeeded' });
    await until(input, (x) => x.awaitingSlot === 0 && x.active === 2 && x.parked === 0, 'the second granted');
    expect(await working(2, [0, 1])).toEqual([0, 1]);
    await script(input, 0, { kind: 'finished', status: 'succeeded' });
    await script(input, 1, { kind: 'finished', status: 'succeeded' });
    expect(await handle.result()).toMatchObject({ status: 'completed', finished: { succeeded: 3 }, awaitingSlot: 0 });
  });

  it('continues as new under load with every run accounted for, none created twice', async () => {
    const input = campaign({
      papers: 60,
      runsPerPaper: 2,
      maxConcurrentRuns: 25,
      historyLimit: 200,
      template: { ...campaign({ papers: 1 }).template, mode: 'autonomous' },
    });
    const handle = await start(input);
    const result = (await handle.result()) as CampaignSnapshot;
    expect(result).toMatchObject({ status: 'completed', started: 120, active: 0, skipped: 0 });
    expect(result.finished.succeeded).toBe(120);
    expect(result.generation).toBeGreaterThan(0);
    const slots = createdSlots(input);
    expect(slots).toHaveLength(120);
    expect(slots.every((k) => created.get(k) === 1)).toBe(true);
    const history = await handle.fetchHistory();
    expect(history.events!.length).toBeLessThan(input.historyLimit + 200);
  }, 120_000);

  it('skips the ranks a paper has no ideas for, and those of a paper whose first run ends without ideas', async () => {
    const input = campaign({
      papers: 2,
      runsPerPaper: 3,
      maxConcurrentRuns: 5,
      template: { ...campaign({ papers: 1 }).template, ideaCount: 2 },
    });
    const handle = await start(input);
    await until(input, (x) => x.started === 4, 'both papers first and second ranks');
    for (const slot of [0, 1, 3, 4]) await script(input, slot, { kind: 'finished', status: 'rejected' });
    const result = (await handle.result()) as CampaignSnapshot;
    // 2 ideas for 3 ranks: the third rank of each paper is skipped.
    expect(result).toMatchObject({ status: 'completed', started: 4, skipped: 2, finished: { rejected: 4 } });
  });

  it('pauses: starts nothing and tells its runs, then resumes', async () => {
    const input = campaign({ papers: 3, maxConcurrentRuns: 1 });
    const handle = await start(input);
    await until(input, (x) => x.started === 1, 'one started');
    await handle.signal(pauseSignal);
    await until(input, (x) => x.status === 'paused', 'paused');
    await script(input, 0, { kind: 'finished', status: 'succeeded' });
    await until(input, (x) => x.finished.succeeded === 1, 'first finished');
    await new Promise((r) => setTimeout(r, 300));
    expect((await handle.query(campaignStateQuery)).started).toBe(1);
    await handle.signal(resumeSignal);
    await until(input, (x) => x.started === 2 && x.status === 'running', 'resumed');
    await handle.cancel();
  });

  it('stops starting runs when its budget is spent, and a top-up wakes the parked runs and the campaign', async () => {
    fits = false;
    const input = campaign({ papers: 4, maxConcurrentRuns: 2 });
    const handle = await start(input);
    await until(input, (x) => x.started === 2, 'two started');
    const budget = { scope: 'campaign' as const, limit: 'usd' as const, budget: 1, committed: 1, requested: 0.5 };
    await script(input, 0, { kind: 'status', status: 'awaiting_budget', budget });
    await until(input, (x) => x.status === 'awaiting_budget', 'awaiting budget');
    await script(input, 1, { kind: 'finished', status: 'succeeded' });
    await until(input, (x) => x.finished.succeeded === 1, 'second finished');
    await new Promise((r) => setTimeout(r, 300));
    expect((await handle.query(campaignStateQuery)).started).toBe(2);
    await expect(handle.executeUpdate(topUpUpdate, { args: [{}] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/usd, tokens, gpuHours or cpuHours/) },
    });
    const after = await handle.executeUpdate(topUpUpdate, { args: [{ usd: 5 }] });
    expect(after.status).toBe('awaiting_budget'); // answered before the loop moves on
    expect(toppedUp).toContainEqual({ usd: 5 });
    // The parked run was woken (the stand-in says it is executing again) and new runs start: one or two, as
    // slot 0 was still parked (not counted) or already working again when the campaign filled its window.
    const s = await until(input, (x) => x.status === 'running' && x.started >= 3 && x.parked === 0, 'resumed');
    expect(s.active).toBeGreaterThanOrEqual(2);
    await handle.cancel();
  });

  it('stops at its deadline: starts nothing more, cancels what is going, and ends expired', async () => {
    const input = campaign({ papers: 3, maxConcurrentRuns: 1, deadline: new Date(Date.now() + 1500).toISOString() });
    const handle = await start(input);
    const result = (await handle.result()) as CampaignSnapshot;
    expect(result).toMatchObject({ status: 'expired', started: 1 });
    const child = client.workflow.getHandle(workflowIdFor(runIdOf(input, 0)));
    const err = await child.result().catch((e: WorkflowFailedError) => e);
    expect(String((err as WorkflowFailedError).cause)).toMatch(/Cancel/);
    expect(recorded(input.campaignId)).toEqual(['running', 'expired']);
  });

  it('cancels its running runs when cancelled, and counts what never started', async () => {
    const input = campaign({ papers: 5, maxConcurrentRuns: 2 });
    const handle = await start(input);
    await until(input, (x) => x.started === 2, 'two started');
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    for (const slot of [0, 1]) {
      const child = client.workflow.getHandle(workflowIdFor(runIdOf(input, slot)));
      const err = await child.result().catch((e: WorkflowFailedError) => e);
      expect(String((err as WorkflowFailedError).cause)).toMatch(/Cancel/);
    }
    expect(recorded(input.campaignId)).toEqual(['running', 'cancelled']);
  });
});

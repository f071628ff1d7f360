// One campaign of many runs on the embedded stack as `npm start` runs it, with an instant model and Semantic
// Scholar unreachable (as on a machine with no route to it):
//  (0) the floor: one no-op Temporal activity round trip on the same Temporal server;
//  (1) N runs in one campaign, all to awaiting_approval: wall time, runs per second, per run against the floor;
//  (2) A of them approved (bulk, through the inbox) through a trivial task to succeeded;
//  (3) the stack process's peak RSS (API + worker), and the largest workflow history (campaign generations too).
// Usage: npm run bench:campaign [-- --papers 500 --per-paper 2 --approve 200]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../src/stack/processes';
import { startFakeModel } from '../test/support/fake-model';
import { SAMPLE_PAPER } from '../test/support/api';
import { noopRoundTrip } from './floor';
import { ROOT, arg, fmt, request, rssMb, sleep, startStack, stopStack } from './stack';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const api = request;

async function main(): Promise<void> {
  const papers = arg('papers', 500);
  const perPaper = arg('per-paper', 2);
  const approve = arg('approve', 200);
  const total = papers * perPaper;
  const model = await startFakeModel();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-campaign-'));
  const port = await freePort();
  const temporalPort = await freePort();
  const { stack } = await startStack(dataDir, port, {
    MLR_TEMPORAL_PORT: String(temporalPort),
    MLR_MODEL: 'fake',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'x',
    SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/graph/v1', // nothing listens: every search fails at once
    MLR_S2_RETRIES: '0',
    MLR_TASKS_DIR: path.join(ROOT, 'bench', 'tasks'),
    MLR_CAMPAIGN_MAX_PAPERS: String(papers),
    MLR_WORKER_CONCURRENCY: '100',
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb(stack.child.pid!).rss);
  }, 200);
  try {
    const floor = await noopRoundTrip(`127.0.0.1:${temporalPort}`, 20);
    console.log(`(0) one no-op activity round trip (floor): ${floor.toFixed(1)} ms`);

    // Papers go in a few at a time (the ingestor answers 429 IngestBusy beyond its queue, as it should).
    const ids: string[] = [];
    const upload = async (i: number): Promise<string> => {
      for (;;) {
        try {
          return (
            await api(port, 'POST', '/v1/papers', { content: `${SAMPLE_PAPER}\n(paper ${i})`, format: 'markdown' })
          ).id;
        } catch (err) {
          if (!String(err).includes('IngestBusy')) throw err;
          await sleep(50);
        }
      }
    };
    for (let i = 0; i < papers; i += 4) {
      ids.push(...(await Promise.all(Array.from({ length: Math.min(4, papers - i) }, (_, j) => upload(i + j)))));
    }
    const t0 = performance.now();
    const campaign = await api(port, 'POST', '/v1/campaigns', {
      name: 'bench',
      paperIds: ids,
      runsPerPaper: perPaper,
      mode: 'supervised',
      until: 'measured',
      taskId: 'trivial',
      maxConcurrentRuns: 200,
      maxConcurrentJobs: 8,
      budget: { usd: 1000 },
    });
    let view: Json;
    for (;;) {
      view = await api(port, 'GET', `/v1/campaigns/${campaign.id}`);
      if ((view.runs.byStatus.awaiting_approval ?? 0) >= total) break;
      if (performance.now() - t0 > 30 * 60_000) throw new Error(`stuck: ${JSON.stringify(view.runs)}`);
      await sleep(500);
    }
    const wall = performance.now() - t0;
    console.log(
      `(1) ${total} runs in one campaign (${papers} papers × ${perPaper}) → all awaiting_approval: wall ${fmt(wall)} ms, ` +
        `${(total / (wall / 1000)).toFixed(1)} runs/s, ${fmt(wall / total)} ms per run = ${(wall / total / floor).toFixed(1)}× ` +
        'the floor (each run: 3 model calls or an adoption, 1 retrieval answered "unavailable", 5 status writes)',
    );

    const t1 = performance.now();
    let approved = 0;
    while (approved < approve) {
      const inbox = await api(port, 'GET', `/v1/approvals?limit=${Math.min(100, approve - approved)}`);
      const decisions = inbox.items.map((i: Json) => ({ runId: i.runId, decision: 'approve' }));
      const res = await api(port, 'POST', '/v1/approvals', { decisions });
      approved += res.results.filter((o: Json) => o.ok).length;
    }
    for (;;) {
      view = await api(port, 'GET', `/v1/campaigns/${campaign.id}`);
      const s = view.runs.byStatus;
      if ((s.succeeded ?? 0) + (s.failed ?? 0) >= approve) break;
      if (performance.now() - t1 > 30 * 60_000) throw new Error(`stuck: ${JSON.stringify(view.runs)}`);
      await sleep(500);
    }
    const wall2 = performance.now() - t1;
    console.log(
      `(2) ${approve} approved (bulk, through /v1/approvals) → succeeded through the trivial task (agent step, ` +
        `baseline, candidate): wall ${fmt(wall2)} ms, ${(approve / (wall2 / 1000)).toFixed(1)} runs/s; ` +
        `by status ${JSON.stringify(view.runs.byStatus)}`,
    );

    const client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${temporalPort}` }) });
    let largest = { id: '', events: 0 };
    let campaignGenerations = 0;
    let workflows = 0;
    for await (const wf of client.workflow.list()) {
      workflows++;
      if (wf.workflowId.startsWith('campaign-')) campaignGenerations++;
      if ((wf.historyLength ?? 0) > largest.events) largest = { id: wf.workflowId, events: wf.historyLength ?? 0 };
    }
    await client.connection.close();
    clearInterval(sampler);
    console.log(
      `(3) stack process (API + worker) peak RSS ${fmt(peakRss)} MB, high-water ${fmt(rssMb(stack.child.pid!).peak)} MB; ` +
        `${workflows} workflow executions, largest history ${largest.events} events (${largest.id}); ` +
        `the campaign ran as ${campaignGenerations} generation(s) (continue-as-new)`,
    );
  } finally {
    clearInterval(sampler);
    await stopStack(stack);
    await model.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

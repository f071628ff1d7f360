// What Hub retrieval and its cache add to a whole run, on the embedded stack with an instant fake model and the
// stand-in Hub as a mirror: autonomous breast-cancer runs (until: measured) alternately without a Hub step and with
// one hub_fetch of a 20 MB model (whose view every later execution of the run mounts). The first run with a fetch
// pays the cold download; the rest find the commit in the worker's cache. Figures: p50 wall time of each kind, the
// ratio, and the cold run. Usage: npm run bench:hub-run [-- --runs 6]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/stack/processes';
import { startFakeHub } from '../test/support/fake-hub';
import { startFakeModel } from '../test/support/fake-model';
import { SAMPLE_PAPER } from '../test/support/api';
import { arg, call, fmt, startStack, stats, stopStack, untilStatus } from './stack';

async function main(): Promise<void> {
  const [model, hub] = await Promise.all([startFakeModel(), startFakeHub()]);
  const id = 'bench/model-20mb';
  hub.add({
    kind: 'model',
    id,
    licence: 'mit',
    files: { 'config.json': '{"hidden": 8}', 'model.safetensors': Buffer.alloc(20_000_000, 7) },
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-hub-'));
  const port = await freePort();
  const env = {
    MLR_TEMPORAL_PORT: String(await freePort()),
    MLR_MODEL: 'fake',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'x',
    SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/x',
    MLR_S2_RETRIES: '0',
    HF_ENDPOINT: hub.endpoint,
  };
  const { stack } = await startStack(dataDir, port, env);
  try {
    const paper = await call(port, 'POST', '/v1/papers', { content: SAMPLE_PAPER, format: 'markdown' });
    const run = async (withHub: boolean): Promise<number> => {
      if (withHub) model.enqueue('agent', { tool: 'hub_fetch', args: { kind: 'model', repo_id: id } });
      model.enqueue('agent', { tool: 'final_answer', args: { final_answer: 'Done.' } });
      const t0 = performance.now();
      const created = await call(port, 'POST', '/v1/runs', {
        paperId: paper.id,
        mode: 'autonomous',
        ideaCount: 1,
        taskId: 'breast-cancer',
        until: 'measured',
      });
      await untilStatus(port, created.id, 'succeeded');
      return performance.now() - t0;
    };
    await run(false); // the baseline cache and the task's preparation, for both kinds alike
    const cold = await run(true);
    const n = arg('runs', 6);
    const without: number[] = [];
    const withHub: number[] = [];
    for (let i = 0; i < n; i++) {
      without.push(await run(false));
      withHub.push(await run(true));
    }
    const a = stats(without).p50;
    const b = stats(withHub).p50;
    console.log(`(a) run without the Hub: p50 ${fmt(a)} ms (${n} runs; the floor)`);
    console.log(`(b) run with one hub_fetch (20 MB, cached): p50 ${fmt(b)} ms (${(b / a).toFixed(2)}× (a))`);
    console.log(`(c) the first run with it (cold download): ${fmt(cold)} ms (${(cold / a).toFixed(2)}× (a))`);
  } finally {
    await stopStack(stack);
    await Promise.all([model.close(), hub.close()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// ExperimentAgent benchmarks on the embedded stack with an instant fake model:
//  (1) orchestration overhead per agent step (a model-step activity plus an action activity), against a
//      plain in-process loop doing the same model calls and the same workspace actions;
//  (2) runs completed per minute with 20 runs at once on one worker (until: measured; each: baseline (cached after the
//      first), one agent step, one measured candidate execution of the task's train.py).
//  (0) the floor, in the same run: one no-op activity round trip on the stack's Temporal server.
// Usage: npm run bench:experiment [-- --steps 20 --runs 20]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { createOpenAiChatModel } from '../src/clients/llm';
import { TOOLS } from '../src/experiments/tools';
import { Workspace } from '../src/experiments/workspace';
import { freePort } from '../src/stack/processes';
import { loadTask, prepareTask } from '../src/tasks/library';
import { startFakeModel, type FakeModel } from '../test/support/fake-model';
import { SAMPLE_PAPER } from '../test/support/api';
import { noopRoundTrip } from './floor';
import { ROOT, arg, call, fmt, sleep, startStack, stopStack, untilStatus } from './stack';

async function stepTimes(port: number, runId: string): Promise<number[]> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/runs/${runId}/events`, {
    headers: { authorization: 'Bearer bench-token' },
  });
  const text = await res.text();
  const at = text
    .split('\n\n')
    .filter((b) => b.includes('event: agent_step'))
    .map((b) => Date.parse(JSON.parse(b.split('data: ')[1]!).at));
  return at.slice(1).map((t, i) => t - at[i]!);
}

async function inProcessLoop(model: FakeModel, steps: number, dataDir: string): Promise<number> {
  const task = loadTask(path.join(ROOT, 'tasks', 'breast-cancer'))!;
  const prepared = await prepareTask(task, path.join(dataDir, 'tasks'), path.join(ROOT, '.venv', 'bin', 'python'));
  const ws = Workspace.create(
    path.join(dataDir, 'plain-ws'),
    prepared.envDir,
    prepared.readOnlyPatterns,
    path.join(dataDir, 'plain-ws-harness'),
  );
  const chat = createOpenAiChatModel(new OpenAI({ apiKey: 'x', baseURL: model.baseUrl, maxRetries: 0 }), {
    maxTokens: 4096,
  });
  for (let i = 0; i < steps; i++) model.enqueue('agent', { tool: 'list_files', args: { dir_path: '.' } });
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const res = await chat.act({ model: 'fake', messages: [{ role: 'user', content: 'go' }], tools: TOOLS });
    if (res.toolCall?.name === 'list_files') ws.listFiles('.');
    ws.snapshot();
  }
  return (performance.now() - t0) / steps;
}

async function main(): Promise<void> {
  const model = await startFakeModel();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-exp-'));
  const port = await freePort();
  const temporalPort = await freePort();
  const env = {
    MLR_TEMPORAL_PORT: String(temporalPort),
    MLR_MODEL: 'fake',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'x',
    SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/x',
    MLR_S2_RETRIES: '0',
  };
  const { stack } = await startStack(dataDir, port, env);
  try {
    const paper = await call(port, 'POST', '/v1/papers', { content: SAMPLE_PAPER, format: 'markdown' });
    const steps = arg('steps', 20);
    for (let i = 0; i < steps; i++) model.enqueue('agent', { tool: 'list_files', args: { dir_path: '.' } });
    const run = await call(port, 'POST', '/v1/runs', {
      paperId: paper.id,
      mode: 'autonomous',
      ideaCount: 1,
      taskId: 'breast-cancer',
      until: 'measured',
    });
    await untilStatus(port, run.id, 'succeeded');
    const gaps = (await stepTimes(port, run.id)).slice(0, steps - 1);
    const durable = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const plain = await inProcessLoop(model, steps, dataDir);
    const floor = await noopRoundTrip(`127.0.0.1:${temporalPort}`, steps);
    console.log(`(0) one no-op activity round trip (floor): ${floor.toFixed(1)} ms`);
    console.log(
      `(1a) per agent step against the floor: ${(durable / floor).toFixed(2)}× one no-op activity round trip ` +
        `(${fmt(durable - floor)} ms above it)`,
    );
    console.log(
      `(1) per agent step (model step + action, ${gaps.length} steps): durable ${fmt(durable)} ms, plain in-process loop ${plain.toFixed(1)} ms, ` +
        `ratio ${(durable / plain).toFixed(1)}x, overhead ${fmt(durable - plain)} ms per step`,
    );

    const n = arg('runs', 20);
    const t0 = performance.now();
    const runs = await Promise.all(
      Array.from({ length: n }, () =>
        call(port, 'POST', '/v1/runs', {
          paperId: paper.id,
          mode: 'autonomous',
          ideaCount: 1,
          taskId: 'breast-cancer',
          until: 'measured',
        }),
      ),
    );
    for (;;) {
      const done = await Promise.all(runs.map((r) => call(port, 'GET', `/v1/runs/${r.id}`)));
      if (done.every((r) => r.status === 'succeeded' || r.status === 'failed')) {
        const failed = done.filter((r) => r.status === 'failed').length;
        const wall = performance.now() - t0;
        console.log(
          `(2) ${n} runs at once, one worker: all finished in ${fmt(wall)} ms = ${(n / (wall / 60_000)).toFixed(1)} runs/minute (${failed} failed)`,
        );
        break;
      }
      await sleep(500);
    }
  } finally {
    await stopStack(stack);
    await model.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

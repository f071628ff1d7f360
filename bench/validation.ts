// Validation wall time at K = 5 seeds per arm (10 executions of the task's train.py) with parallelism
// 1 and 2, each on a fresh embedded stack and data directory (so no baseline is cached).
// Usage: npm run bench:validation [-- --seeds 5]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../src/stack/processes';
import { startFakeModel } from '../test/support/fake-model';
import { SAMPLE_PAPER } from '../test/support/api';
import { SCALED_TRAIN } from '../test/support/train-scripts';
import { TOKEN, arg, call, fmt, startStack, stopStack, untilStatus } from './stack';

async function validationWallMs(parallelism: number, seeds: number): Promise<{ wall: number; compute: number }> {
  const model = await startFakeModel();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-bench-val-'));
  const port = await freePort();
  const { stack } = await startStack(dataDir, port, {
    MLR_MODEL: 'fake',
    OPENAI_BASE_URL: model.baseUrl,
    OPENAI_API_KEY: 'x',
    SEMANTIC_SCHOLAR_BASE_URL: 'http://127.0.0.1:9/x',
    MLR_S2_RETRIES: '0',
    MLR_VALIDATION_PARALLELISM: String(parallelism),
  });
  try {
    model.enqueue('agent', { tool: 'write_file', args: { file_name: 'train.py', content: SCALED_TRAIN } });
    const paper = await call(port, 'POST', '/v1/papers', { content: SAMPLE_PAPER, format: 'markdown' });
    const run = await call(port, 'POST', '/v1/runs', {
      paperId: paper.id,
      mode: 'autonomous',
      ideaCount: 1,
      taskId: 'breast-cancer',
      validationSeeds: seeds,
    });
    await untilStatus(port, run.id, 'succeeded');
    const events = await (
      await fetch(`http://127.0.0.1:${port}/v1/runs/${run.id}/events`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).text();
    const at = (status: string) =>
      Date.parse(
        JSON.parse(
          events
            .split('\n\n')
            .find((b) => b.includes('event: status') && b.includes(`"status":"${status}"`))!
            .split('data: ')[1]!,
        ).at,
      );
    const report = (await (
      await fetch(`http://127.0.0.1:${port}/v1/runs/${run.id}/report?format=json`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).json()) as { validation: { runs: Array<{ experimentId: string }> } };
    const full = (await call(port, 'GET', `/v1/runs/${run.id}`)) as unknown as {
      experiments: Array<{ id: string; durationMs: number }>;
    };
    const ids = new Set(report.validation.runs.map((r) => r.experimentId));
    const compute = full.experiments.filter((e) => ids.has(e.id)).reduce((a, e) => a + e.durationMs, 0);
    return { wall: at('succeeded') - at('validating'), compute };
  } finally {
    await stopStack(stack);
    await model.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const seeds = arg('seeds', 5);
  const one = await validationWallMs(1, seeds);
  const two = await validationWallMs(2, seeds);
  console.log(
    `validation, K = ${seeds} (${2 * seeds} executions) + statistics + report: parallelism 1 ${fmt(one.wall)} ms ` +
      `(executions ${fmt(one.compute)} ms of compute), parallelism 2 ${fmt(two.wall)} ms (${fmt(two.compute)} ms); speed-up ${(one.wall / two.wall).toFixed(2)}x on ${os.cpus().length} cores`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

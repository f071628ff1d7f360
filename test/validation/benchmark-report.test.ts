// The benchmark's table states both denominators, how runs ended, the overall method and any known leak.
import { benchmarkResults, type BenchmarkRunFacts } from '../../src/domain/benchmark';
import { renderBenchmarkMarkdown } from '../../src/validation/benchmark-report';

const run = (over: Partial<BenchmarkRunFacts>): BenchmarkRunFacts => ({
  runId: 'r',
  taskId: 'imdb',
  status: 'succeeded',
  direction: 'max',
  baseline: 0.5,
  value: 0.9,
  verdict: 'supported',
  errorType: null,
  costUsd: 0.5,
  wallSeconds: 60,
  ...over,
});

it('renders both rates, the ends, the overall method and the leaks', () => {
  const results = benchmarkResults(
    ['imdb'],
    [run({}), run({ status: 'failed', value: null, errorType: 'LlmUnavailable', verdict: null })],
    new Map([['imdb', [{ kind: 'imdb_test_labels', file: 'train`.py', detail: 'load_dataset("imdb") leaks' }]]]),
  );
  const md = renderBenchmarkMarkdown({
    id: 'b',
    name: 'n',
    status: 'completed',
    profile: 'mlab',
    runsPerTask: 2,
    results,
  });
  expect(md).toContain('| imdb | 1 | 1 | 100% [21%, 100%] | 50% [9%, 91%] of 2 | completed 1, infrastructure 1 |');
  expect(md).toContain('Overall: the mean of the per-task success rates, 100%');
  expect(md).toContain('- imdb: load_dataset("imdb") leaks (`train\'.py`)');
});

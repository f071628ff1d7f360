// Upstream's known label leaks are found in a task's starter code, and nothing else is flagged.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { knownLeaks, leaksIn } from '../../src/tasks/leaks';
import { benchmarkResults } from '../../src/domain/benchmark';
import { ROOT, TEST_DATA } from '../support/paths';

it.each([
  // upstream cifar10's train.py
  ["test_dataset = datasets.CIFAR10(root='./data', train=False, download=True, transform=t)", 'cifar10_test_labels'],
  // upstream ogbn-arxiv's train.py
  ["dataset = PygNodePropPredDataset(name='ogbn-arxiv', root='networks')", 'ogbn_arxiv_all_labels'],
  // upstream imdb's train.py
  ['imdb = load_dataset("imdb")', 'imdb_test_labels'],
] as const)('flags %s', (code, kind) => {
  expect(leaksIn('train.py', code).map((l) => l.kind)).toEqual([kind]);
});

it('leaves alone the training split, other datasets and unclosed calls', () => {
  expect(leaksIn('a.py', "datasets.CIFAR10(root='./data', train=True)")).toEqual([]);
  expect(leaksIn('a.py', 'load_dataset("ag_news")')).toEqual([]);
  expect(leaksIn('a.py', 'CIFAR10(' + 'x'.repeat(100_000))).toEqual([]);
});

it("scans a task's starter folder, and finds nothing in the shipped library", () => {
  const dir = path.join(TEST_DATA, 'leaky-tasks', 'imdb');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'env', 'lib'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'env', 'lib', 'data.py'), 'from datasets import load_dataset\nd = load_dataset("imdb")\n');
  fs.writeFileSync(path.join(dir, 'env', 'notes.txt'), 'load_dataset("imdb")');
  expect(knownLeaks(dir)).toEqual([
    { kind: 'imdb_test_labels', file: path.join('lib', 'data.py'), detail: expect.stringContaining('test split') },
  ]);
  // A file read before is read again once it changes (the scan keeps results per file by size and time).
  fs.writeFileSync(path.join(dir, 'env', 'clean.py'), 'print(1)\n');
  expect(knownLeaks(dir)).toHaveLength(1);
  fs.appendFileSync(path.join(dir, 'env', 'clean.py'), 'import torchvision\nt = CIFAR10(root=".", train=False)\n');
  expect(knownLeaks(dir).map((l) => l.kind).sort()).toEqual(['cifar10_test_labels', 'imdb_test_labels']);
  fs.rmSync(path.join(dir, 'env', 'clean.py'));
  // Hostile folders: a link out of it, a FIFO (never opened: it would block) and a sparse 2 GiB file (read at
  // most 1 MiB) are no trouble.
  fs.symlinkSync('/etc/passwd', path.join(dir, 'env', 'link.py'));
  execFileSync('mkfifo', [path.join(dir, 'env', 'pipe.py')]);
  const sparse = fs.openSync(path.join(dir, 'env', 'huge.py'), 'w');
  fs.ftruncateSync(sparse, 2 ** 31);
  fs.closeSync(sparse);
  expect(knownLeaks(dir).map((l) => l.file)).toEqual([path.join('lib', 'data.py')]);
  for (const task of fs.readdirSync(path.join(ROOT, 'tasks'))) {
    if (fs.statSync(path.join(ROOT, 'tasks', task)).isDirectory())
      expect(knownLeaks(path.join(ROOT, 'tasks', task))).toEqual([]);
  }
  // Beside the rate, per task and overall.
  const leaks = new Map([['imdb', knownLeaks(dir)]]);
  const { tasks, overall } = benchmarkResults(['imdb', 'other'], [], leaks);
  expect(tasks.map((t) => t.leaks.length)).toEqual([1, 0]);
  expect(overall.leaks).toHaveLength(1);
});

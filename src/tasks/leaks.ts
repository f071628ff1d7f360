// Upstream MLAgentBench's known label leaks, found in a task's starter code: code the agent is given that puts
// the hidden test labels within its reach. A benchmark reports them beside the task's rate (a success there may
// be a lookup), and nothing is hidden or changed: the task runs as upstream ships it.
import fs from 'node:fs';
import path from 'node:path';

import type { LeakFlag } from '../domain/benchmark';

export type { LeakFlag };

/**
 * What each starter file was found to hold, by path, kept while its size and modification time stay the same:
 * a benchmark's view is read often (the console polls it), its tasks' code seldom changes.
 */
const scanned = new Map<string, { size: number; mtimeMs: number; leaks: LeakFlag[] }>();

/** Starter files read, at most, and how much of each: the scan is bounded whatever the folder holds. */
const MAX_FILES = 200;
const MAX_BYTES = 1024 * 1024;

/** The text between `open` and the next `)` after it (one call's arguments); linear, no backtracking. */
function callArgs(text: string, open: number): string {
  const close = text.indexOf(')', open);
  return text.slice(open, close < 0 ? undefined : close);
}

export function leaksIn(file: string, text: string): LeakFlag[] {
  const out: LeakFlag[] = [];
  // torchvision's CIFAR10(..., train=False) is the test split with its labels (upstream's cifar10 train.py).
  for (let i = text.indexOf('CIFAR10('); i >= 0; i = text.indexOf('CIFAR10(', i + 1)) {
    if (/train\s*=\s*False/.test(callArgs(text, i))) {
      out.push({
        kind: 'cifar10_test_labels',
        file,
        detail: "loads CIFAR-10's test split with its labels (torchvision), which the agent's code can read",
      });
      break;
    }
  }
  // ogbn-arxiv's dataset object holds every node's label, the test nodes' included.
  if (text.includes('PygNodePropPredDataset(') && text.includes('ogbn-arxiv')) {
    out.push({ kind: 'ogbn_arxiv_all_labels', file, detail: 'loads ogbn-arxiv with the labels of every node, test included' });
  }
  // datasets.load_dataset("imdb") returns the test split with its labels.
  for (let i = text.indexOf('load_dataset('); i >= 0; i = text.indexOf('load_dataset(', i + 1)) {
    if (/^load_dataset\(\s*["']imdb["']/.test(callArgs(text, i))) {
      out.push({ kind: 'imdb_test_labels', file, detail: 'load_dataset("imdb") returns the test split with its labels' });
      break;
    }
  }
  return out;
}

/** Known leaks in the Python files of a task's starter folder (`env/`), by file. */
export function knownLeaks(taskDir: string): LeakFlag[] {
  const env = path.join(taskDir, 'env');
  const files: string[] = [];
  const walk = (rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(env, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (files.length >= MAX_FILES) return;
      const child = path.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else if (e.isFile() && e.name.endsWith('.py')) files.push(child);
    }
  };
  walk('');
  return files.flatMap((rel) => {
    const abs = path.join(env, rel);
    const st = fs.lstatSync(abs, { throwIfNoEntry: false }); // a link or a FIFO swapped in is not read
    if (!st?.isFile()) return [];
    const known = scanned.get(abs);
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.leaks;
    const fd = fs.openSync(abs, 'r');
    try {
      const buf = Buffer.alloc(Math.min(st.size, MAX_BYTES));
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const leaks = leaksIn(rel, buf.subarray(0, n).toString('utf8'));
      scanned.set(abs, { size: st.size, mtimeMs: st.mtimeMs, leaks });
      return leaks;
    } finally {
      fs.closeSync(fd);
    }
  });
}

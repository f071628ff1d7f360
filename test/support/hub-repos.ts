// Tiny Hub repositories the tests serve from the stand-in Hub.
import type { FakeRepo } from './fake-hub';

export const TINY_MODEL: FakeRepo = {
  kind: 'model',
  id: 'acme/tiny-tabular-classifier',
  licence: 'apache-2.0',
  downloads: 1200,
  likes: 7,
  tags: ['tabular-classification', 'sklearn'],
  pipelineTag: 'tabular-classification',
  files: {
    'config.json': JSON.stringify({ model_type: 'tiny', hidden: 4 }),
    'weights/coef.json': JSON.stringify({ coef: [0.5, -0.25, 1.0] }),
    'README.md': '# A tiny tabular classifier\n',
  },
};

export const NONFREE_MODEL: FakeRepo = {
  kind: 'model',
  id: 'acme/tabular-classifier-nc',
  licence: 'cc-by-nc-4.0',
  downloads: 99999,
  likes: 500,
  tags: ['tabular-classification'],
  files: { 'config.json': '{}' },
};

export const GATED_MODEL: FakeRepo = {
  kind: 'model',
  id: 'acme/tabular-classifier-gated',
  licence: 'apache-2.0',
  gated: true,
  downloads: 5000,
  tags: ['tabular-classification'],
  files: { 'config.json': '{}' },
};

export const BIG_MODEL: FakeRepo = {
  kind: 'model',
  id: 'acme/tabular-classifier-big',
  licence: 'mit',
  downloads: 10,
  tags: ['tabular-classification'],
  files: { 'model.bin': Buffer.alloc(3_000_000, 1) },
};

export const TINY_DATASET: FakeRepo = {
  kind: 'dataset',
  id: 'acme/tiny-reviews',
  licence: 'cc-by-4.0',
  downloads: 300,
  tags: ['text-classification'],
  files: {
    'train.csv': 'text,label\ngood film,1\nbad film,0\n',
    'test.csv': 'text,label\ngreat,1\nawful,0\n',
  },
};

/** Test rows of IMDB_SHAPED: label i % 2, with "great" in the positive ones, except row 3 (a negative). */
const review = (i: number, label: number, word: string) => `"review ${i}: a ${word} film",${label}`;
const split = (n: number, from: number) =>
  ['text,label', ...Array.from({ length: n }, (_, i) => review(from + i, i % 2, i % 2 ? 'great' : 'dull'))].join('\n');

/**
 * A small dataset in the shape of the Hub's imdb (legacy id `imdb`; splits train, test and unsupervised of text
 * and label under plain_text/, declared in its card), as a mirror would serve it to upstream's imdb task.
 */
export const IMDB_SHAPED: FakeRepo = {
  kind: 'dataset',
  id: 'imdb',
  licence: 'other',
  downloads: 90000,
  tags: ['text-classification'],
  files: {
    'README.md': [
      '---',
      'configs:',
      '- config_name: plain_text',
      '  data_files:',
      ...['train', 'test', 'unsupervised'].flatMap((s) => [`  - split: ${s}`, `    path: plain_text/${s}-*`]),
      '  default: true',
      '---',
      '# imdb-shaped reviews',
      '',
    ].join('\n'),
    'plain_text/train-00000-of-00001.csv': split(20, 0) + '\n',
    // Row 3 is negative yet says "great": a keyword rule scores 9 of 10.
    'plain_text/test-00000-of-00001.csv':
      split(10, 100).replace(review(103, 1, 'great'), review(103, 0, 'great')) + '\n',
    'plain_text/unsupervised-00000-of-00001.csv': split(4, 200) + '\n',
  },
};

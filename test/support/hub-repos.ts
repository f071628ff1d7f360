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

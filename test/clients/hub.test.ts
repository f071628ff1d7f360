// The Hub client (python/hub.py over huggingface_hub, the maintained client) against the stand-in Hub: search,
// inspect and fetch into the cache layout that from_pretrained, load_dataset and snapshot_download read offline.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHubClient } from '../../src/clients/hub';
import { type HubError, type HubClient } from '../../src/domain/hub';
import { startFakeHub, type FakeHub } from '../support/fake-hub';
import { GATED_MODEL, TINY_DATASET, TINY_MODEL } from '../support/hub-repos';
import { ROOT } from '../support/paths';

const PYTHON = path.join(ROOT, '.venv/bin/python');
let fake: FakeHub;
let home: string;
let hub: HubClient;
let sha: string;

beforeAll(async () => {
  fake = await startFakeHub();
  sha = fake.add(TINY_MODEL).sha;
  fake.add(TINY_DATASET);
  fake.add(GATED_MODEL);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-home-'));
  hub = createHubClient({ python: PYTHON, home, endpoint: fake.endpoint, token: 'hf_secret', timeoutMs: 60_000 });
});
afterAll(async () => {
  await fake.close();
  fs.rmSync(home, { recursive: true, force: true });
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as HubError,
  );

describe('the Hub client', () => {
  it('searches models and reads their licence and popularity', async () => {
    const found = await hub.search('model', 'tabular', 10);
    expect(found.map((f) => f.id).sort()).toEqual([GATED_MODEL.id, TINY_MODEL.id].sort());
    expect(found.find((f) => f.id === TINY_MODEL.id)).toMatchObject({
      sha,
      licence: 'apache-2.0',
      downloads: 1200,
      likes: 7,
      gated: false,
    });
  });

  it('inspects a repository: commit, files and their sizes', async () => {
    const info = await hub.inspect('model', TINY_MODEL.id);
    expect(info.sha).toBe(sha);
    expect(info.files.map((f) => f.path).sort()).toEqual(['README.md', 'config.json', 'weights/coef.json']);
    expect(info.files.find((f) => f.path === 'config.json')!.size).toBe(
      Buffer.byteLength(TINY_MODEL.files['config.json'] as string),
    );
  });

  it('fetches a pinned commit into the cache, which snapshot_download then reads offline', async () => {
    const dir = await hub.fetch('model', TINY_MODEL.id, sha);
    expect(dir).toBe(path.join(home, 'hub', 'models--acme--tiny-tabular-classifier', 'snapshots', sha));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'weights/coef.json'), 'utf8'))).toEqual({ coef: [0.5, -0.25, 1] });
    const offline = execFileSync(
      PYTHON,
      [
        '-c',
        `from huggingface_hub import snapshot_download
print(snapshot_download("acme/tiny-tabular-classifier", revision="${sha}"))`,
      ],
      { env: { PATH: process.env.PATH, HF_HOME: home, HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' } },
    );
    expect(offline.toString().trim()).toBe(dir);
    // The token went to the Hub as a bearer token.
    expect(fake.authorizations).toContain('Bearer hf_secret');
  });

  it('fetches datasets under their own prefix', async () => {
    const info = await hub.inspect('dataset', TINY_DATASET.id);
    const dir = await hub.fetch('dataset', TINY_DATASET.id, info.sha);
    expect(dir).toContain(path.join('hub', 'datasets--acme--tiny-reviews', 'snapshots'));
    expect(fs.readFileSync(path.join(dir, 'train.csv'), 'utf8')).toContain('good film');
  });

  it('says a missing repository is missing, and a gated one gated', async () => {
    const missing = await failure(hub.inspect('model', 'acme/nothing-here'));
    expect([missing?.name, missing?.kind]).toEqual(['HubError', 'missing']);
    const gatedInfo = await hub.inspect('model', GATED_MODEL.id);
    expect(gatedInfo.gated).toBe(true);
    const gated = await failure(hub.fetch('model', GATED_MODEL.id, gatedInfo.sha));
    expect(gated?.kind).toBe('gated');
  });

  it('says the Hub is unavailable when it answers 503, and recovers after', async () => {
    fake.failNext(50, 503);
    const down = await failure(hub.search('model', 'tabular', 10));
    expect(down?.kind).toMatch(/unavailable|rate_limited/);
    fake.failNext(0, 503);
    expect((await hub.search('model', 'tiny', 10)).map((f) => f.id)).toEqual([TINY_MODEL.id]);
  });

  it('gives up on a Hub that accepts the connection and never answers, within its time, as unavailable', async () => {
    const silent = net.createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const stuck = createHubClient({ python: PYTHON, home, endpoint: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
      const err = await failure(stuck.search('model', 'tabular', 10));
      expect([err?.kind, err?.message]).toEqual(['unavailable', 'no answer within 2 s']);
    } finally {
      silent.close();
    }
  });

  it("refuses ids and revisions that are not the Hub's syntax before running anything", async () => {
    const bad = await failure(hub.inspect('model', '../../etc/passwd'));
    expect(bad?.message).toMatch(/not a Hub repository id/);
    const rev = await failure(hub.fetch('model', TINY_MODEL.id, 'main; rm -rf /'));
    expect(rev?.message).toMatch(/not a commit sha/);
  });
});

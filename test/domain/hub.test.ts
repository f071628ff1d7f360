// Ranking Hub candidates and refusing fetches: pure rules, table-tested.
import {
  HUB_ID,
  hubEnv,
  MAX_REPOS_PER_RUN,
  runShareRefusal,
  type HubFetched,
  rankCandidates,
  refusal,
  searchTerms,
  validHubId,
  type HubSummary,
} from '../../src/domain/hub';

const policy = { licences: ['apache-2.0', 'mit'], maxBytes: 1_000_000 };
const c = (over: Partial<HubSummary>): HubSummary => ({
  id: 'org/x',
  sha: 'a'.repeat(40),
  downloads: 0,
  likes: 0,
  tags: [],
  licence: 'mit',
  gated: false,
  private: false,
  ...over,
});

describe('ranking Hub candidates', () => {
  it('puts fetchable ones first, then better fit, then popularity', () => {
    const ranked = rankCandidates(
      'tabular classifier',
      [
        c({ id: 'org/famous-nc', licence: 'cc-by-nc-4.0', downloads: 1e7, tags: ['tabular', 'classifier'] }),
        c({ id: 'org/gated-tabular-classifier', gated: true, downloads: 1e6 }),
        c({ id: 'org/popular-image-model', downloads: 1e6 }),
        c({ id: 'org/tabular-classifier', downloads: 10 }),
        c({ id: 'org/tabular-thing', downloads: 10 }),
      ],
      policy,
    );
    expect(ranked.map((r) => r.id)).toEqual([
      'org/tabular-classifier',
      'org/tabular-thing',
      'org/popular-image-model',
      'org/famous-nc',
      'org/gated-tabular-classifier',
    ]);
    expect(ranked[0]!.reasons).toEqual(['fit 100%', 'licence mit', '10 downloads, 0 likes']);
    expect(ranked.find((r) => r.id === 'org/famous-nc')!.allowed).toBe(false);
    expect(ranked.find((r) => r.id === 'org/gated-tabular-classifier')!.reasons).toContain('gated');
  });

  it('scales popularity by its logarithm, so a million downloads does not beat a full fit', () => {
    const [first] = rankCandidates(
      'tiny bert',
      [c({ id: 'o/huge', downloads: 1e6 }), c({ id: 'o/tiny-bert' })],
      policy,
    );
    expect(first!.id).toBe('o/tiny-bert');
  });
});

describe('refusing a fetch', () => {
  const info = (over: Partial<HubSummary> & { files?: Array<{ path: string; size: number }> }) => ({
    ...c(over),
    files: over.files ?? [{ path: 'a', size: 10 }],
  });
  it.each([
    [{ gated: true }, /is gated/],
    [{ private: true }, /is private/],
    [{ licence: null }, /declares no licence/],
    [{ licence: 'cc-by-nc-4.0' }, /cc-by-nc-4.0, which is not allowed/],
    [{ files: [{ path: 'w', size: 2_000_001 }] }, /holds 3 MB, over the 1 MB cap/],
  ])('refuses %j', (over, why) => {
    expect(refusal(info(over), policy)).toMatch(why);
  });
  it('lets a small, open repository through, whatever the case of its licence', () => {
    expect(refusal(info({ licence: 'MIT' }), policy)).toBeUndefined();
  });
});

describe('Hub ids', () => {
  it.each(['bert-base-uncased', 'imdb', 'org/name', 'org/name.v2_x-1'])('accepts %s', (id) => {
    expect(validHubId(id)).toBe(true);
  });
  it.each(['../etc', 'org/../x', 'a/b/c', '-x', 'org/', '', 'a b', 'org/name;rm'])('refuses %j', (id) => {
    expect(validHubId(id)).toBe(false);
  });
  it('is linear on long hostile input', () => {
    expect(HUB_ID.test(`${'a'.repeat(50_000)}/`)).toBe(false);
  });
});

describe('the environment an experiment reads the Hub with', () => {
  it("is offline, points at the run's view, and writes datasets' Arrow files to its own scratch", () => {
    expect(hubEnv({ home: '/cache/views/r1', folders: [] }, '/tmp')).toEqual({
      HF_HOME: '/cache/views/r1',
      HF_HUB_OFFLINE: '1',
      HF_DATASETS_OFFLINE: '1',
      TRANSFORMERS_OFFLINE: '1',
      HF_DATASETS_CACHE: '/tmp/hf-datasets',
    });
  });
});

describe('search terms', () => {
  it('send the query, then its longest words', () => {
    expect(searchTerms('tabular classifier for small data')).toEqual([
      'tabular classifier for small data',
      'classifier',
      'tabular',
      'small',
    ]);
    expect(searchTerms('bert')).toEqual(['bert']);
    expect(searchTerms('  ')).toEqual([]);
  });
});

describe("a run's share of the Hub", () => {
  const held = (id: string, bytes: number): HubFetched => ({
    kind: 'model',
    id,
    revision: 'a'.repeat(40),
    files: [],
    bytes,
    licence: 'mit',
  });
  const next = (id: string, size: number) => ({ ...c({ id }), kind: 'model' as const, files: [{ path: 'w', size }] });
  it('counts every repository the run holds against MLR_HUB_MAX_MB', () => {
    expect(runShareRefusal([held('o/a', 600_000)], next('o/b', 300_000), policy)).toBeUndefined();
    expect(runShareRefusal([held('o/a', 600_000)], next('o/b', 500_000), policy)).toMatch(
      /would hold 2 MB, over the 1 MB cap/,
    );
  });
  it('replaces a repository fetched again rather than counting it twice', () => {
    expect(runShareRefusal([held('o/a', 600_000)], next('o/a', 700_000), policy)).toBeUndefined();
  });
  it('allows at most MAX_REPOS_PER_RUN repositories', () => {
    const many = Array.from({ length: MAX_REPOS_PER_RUN }, (_, i) => held(`o/r${i}`, 1));
    expect(runShareRefusal(many, next('o/one-more', 1), policy)).toMatch(/already holds 10/);
    expect(runShareRefusal(many, next('o/r3', 1), policy)).toBeUndefined();
  });
});

import { makePdf, multipart } from '../support/pdf';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { SAMPLE_PAPER, SAMPLE_SECTION_KINDS } from '../support/api';

let h: Harness;
let small: Harness;

beforeAll(async () => {
  h = await createHarness();
  small = await createHarness({ MLR_MAX_UPLOAD_MB: '0.01' });
});
afterAll(async () => {
  await h.close();
  await small.close();
});

const upload = (
  harness: Harness,
  file: { name: string; data: Buffer; type?: string },
  fields?: Record<string, string>,
) => {
  const { payload, headers } = multipart(file, fields);
  return harness.app.inject({ method: 'POST', url: '/v1/papers', headers: { ...AUTH, ...headers }, payload });
};

describe('POST /v1/papers', () => {
  it('stores a Markdown paper with its sections and returns the same paper for the same content', async () => {
    const first = await h.app.inject({
      method: 'POST',
      url: '/v1/papers',
      headers: AUTH,
      payload: { content: SAMPLE_PAPER, format: 'markdown' },
    });
    expect(first.statusCode).toBe(201);
    expect(first.json().title).toBe('Scaling Features for Tabular Classifiers');
    const again = await h.app.inject({
      method: 'POST',
      url: '/v1/papers',
      headers: AUTH,
      payload: { content: SAMPLE_PAPER, format: 'markdown' },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);

    const paper = (await h.app.inject({ method: 'GET', url: `/v1/papers/${first.json().id}`, headers: AUTH })).json();
    expect(paper.sections.map((s: { kind: string }) => s.kind)).toEqual(SAMPLE_SECTION_KINDS);
    expect(paper.sections[1].text.trim()).toBe('We study logistic regression on small tabular data sets.');
  });

  it('extracts text and sections from an uploaded PDF', async () => {
    const pdf = makePdf(
      [
        ['Sparse Attention for Long Documents', 'Abstract', 'We make attention cheaper.'],
        [
          '1 Introduction',
          'Long inputs are costly.',
          '4 Experiments',
          'We measure perplexity.',
          'Limitations',
          'English only.',
        ],
      ],
      'Sparse Attention for Long Documents',
    );
    const res = await upload(h, { name: 'paper.pdf', data: pdf, type: 'application/pdf' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ format: 'pdf', title: 'Sparse Attention for Long Documents' });
    const paper = (await h.app.inject({ method: 'GET', url: `/v1/papers/${res.json().id}`, headers: AUTH })).json();
    expect(paper.content).toContain('We make attention cheaper.');
    expect(paper.sections.map((s: { kind: string }) => s.kind)).toEqual([
      'abstract',
      'introduction',
      'experiments',
      'limitations',
    ]);
  });

  it('takes a plain-text upload and a title field', async () => {
    const res = await upload(
      h,
      { name: 'notes.txt', data: Buffer.from('ABSTRACT\nA text paper.\n\n1 Introduction\nHello.') },
      { title: 'My text paper' },
    );
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ format: 'text', title: 'My text paper' });
  });

  it.each([
    ['an empty JSON content', { content: '   \n ', format: 'markdown' }, 'EmptyPaper'],
    ['a missing content field', { format: 'text' }, 'InvalidRequest'],
    ['an unknown format', { content: 'x', format: 'docx' }, 'InvalidRequest'],
    ['content with NUL bytes', { content: 'a\u0000b', format: 'text' }, 'UndecodableContent'],
  ])('answers 400 for %s', async (_name, payload, code) => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/papers', headers: AUTH, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe(code);
  });

  it('answers 400 naming the field for a bad body', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/papers', headers: AUTH, payload: { format: 'text' } });
    expect(res.json().error.message).toMatch(/content/);
  });

  it.each([
    ['an empty file', { name: 'a.txt', data: Buffer.alloc(0) }, 'EmptyPaper'],
    ['a garbage PDF', { name: 'a.pdf', data: Buffer.from('%PDF-1.4 this is not really a pdf') }, 'UnreadablePdf'],
    ['a file that is not UTF-8', { name: 'a.txt', data: Buffer.from([0xff, 0xfe, 0xfd, 0x41]) }, 'UndecodableContent'],
  ])('answers 400 for %s', async (_name, file, code) => {
    const res = await upload(h, file);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe(code);
  });

  it('answers 413 for an upload over MLR_MAX_UPLOAD_MB, as JSON or as a file, and stores nothing', async () => {
    const big = 'x'.repeat(20_000);
    const asJson = await small.app.inject({
      method: 'POST',
      url: '/v1/papers',
      headers: AUTH,
      payload: { content: big, format: 'text' },
    });
    expect(asJson.statusCode).toBe(413);
    expect(asJson.json().error.code).toBe('PayloadTooLarge');
    const asFile = await upload(small, { name: 'big.txt', data: Buffer.from(big) });
    expect(asFile.statusCode).toBe(413);
    const { rows } = await small.pool.query('SELECT count(*)::int AS n FROM papers');
    expect(rows[0].n).toBe(0);
  });
});

describe('GET /v1/papers', () => {
  it('pages through papers newest first with a cursor', async () => {
    for (let i = 0; i < 3; i++) {
      await h.app.inject({
        method: 'POST',
        url: '/v1/papers',
        headers: AUTH,
        payload: { content: `# Paper ${i}\nbody ${i}`, format: 'markdown' },
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { json(): { items: Array<{ id: string }>; nextCursor: string | null } } = await h.app.inject({
        method: 'GET',
        url: `/v1/papers?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        headers: AUTH,
      });
      const page = res.json();
      seen.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor;
    } while (cursor);
    const { rows } = await h.pool.query('SELECT id FROM papers ORDER BY created_at DESC, id DESC');
    expect(seen).toEqual(rows.map((r) => r.id));
  });

  it('answers 404 for an unknown paper and 400 for a malformed id or cursor', async () => {
    expect(
      (await h.app.inject({ method: 'GET', url: '/v1/papers/00000000-0000-4000-8000-000000000000', headers: AUTH }))
        .statusCode,
    ).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: '/v1/papers/not-a-uuid', headers: AUTH })).statusCode).toBe(400);
    expect(
      (await h.app.inject({ method: 'GET', url: '/v1/papers?cursor=bogus', headers: AUTH })).json().error.code,
    ).toBe('InvalidCursor');
  });
});

// Ingestion off the event loop: worker threads with a time budget and a concurrency cap, and a PDF child
// with an empty environment, resource limits and a page cap. Real threads and real child processes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPdfLimits, extractPdfText, PaperInputError } from '../../src/papers/ingest';
import { createPaperIngestor, type PaperIngestor } from '../../src/papers/ingestor';
import { makePdf } from '../support/pdf';
import { SAMPLE_PAPER, SAMPLE_SECTION_KINDS } from '../support/api';

const make = (over: Partial<Parameters<typeof createPaperIngestor>[0]> = {}) =>
  createPaperIngestor({
    concurrency: 2,
    timeoutMs: 20_000,
    pdfConcurrency: 1,
    pdf: { ...defaultPdfLimits, maxPages: 3 },
    ...over,
  });

describe('the paper ingestor', () => {
  let ingestor: PaperIngestor;
  afterEach(async () => {
    await ingestor.close();
  });

  it('parses text in a worker thread with the same result as in process', async () => {
    ingestor = make();
    const paper = await ingestor.text(SAMPLE_PAPER, 'markdown');
    expect(paper.title).toBe('Scaling Features for Tabular Classifiers');
    expect(paper.sections.map((s) => s.kind)).toEqual(SAMPLE_SECTION_KINDS);
  });

  it('turns input errors in the thread into the same clear errors', async () => {
    ingestor = make();
    await expect(ingestor.text('   \n\n', 'markdown')).rejects.toMatchObject({ code: 'EmptyPaper', status: 400 });
    await expect(ingestor.text(`x${'y'.repeat(300_000)}`, 'text')).rejects.toMatchObject({
      code: 'LineTooLong',
      status: 422,
    });
  });

  it('stops a parse that runs over its time budget and keeps serving', async () => {
    ingestor = make({ timeoutMs: 1 });
    const big = `# Big\n\n${'A line of body text.\n'.repeat(400_000)}`;
    await expect(ingestor.text(big, 'markdown')).rejects.toMatchObject({ code: 'PaperTooComplex', status: 422 });
    ingestor = make();
    expect((await ingestor.text('# Small\n\nok', 'markdown')).title).toBe('Small');
  });

  it('refuses work beyond the concurrency cap and its queue with 429, and finishes the rest', async () => {
    ingestor = make({ concurrency: 1 });
    const body = `# T\n\n${'text\n'.repeat(50_000)}`;
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => ingestor.text(body, 'markdown')));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ statusCode: 429, code: 'IngestBusy' });
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(9); // one running, eight queued
  });

  it('extracts a PDF in a child process', async () => {
    ingestor = make();
    const paper = await ingestor.file(
      makePdf(
        [
          ['1 Introduction', 'We study things.'],
          ['2 Method', 'How.'],
        ],
        'A PDF',
      ),
      'p.pdf',
    );
    expect(paper).toMatchObject({ format: 'pdf', title: 'A PDF' });
    expect(paper.sections.map((s) => s.kind)).toEqual(['introduction', 'method']);
  });

  it('gives the PDF child an empty environment, an address-space limit and a CPU limit', async () => {
    // A stand-in for node that reports what it was given instead of reading the PDF.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlr-pdf-'));
    const probe = path.join(dir, 'node');
    fs.writeFileSync(
      probe,
      '#!/bin/sh\ncat >/dev/null\nprintf \'{"text":"env=[%s] as=%s cpu=%s"}\' "$(env | grep -v \'^PWD=\' | tr \'\\n\' \' \')" "$(ulimit -v)" "$(ulimit -t)"\n',
      { mode: 0o755 },
    );
    process.env.MLR_SECRET_FOR_TEST = 'leak';
    try {
      const out = await extractPdfText(makePdf([['x']]), { ...defaultPdfLimits, memoryMb: 2048, cpuSeconds: 7 }, probe);
      expect(out.text).toMatch(/^env=\[ *\] as=2097152 cpu=7$/);
    } finally {
      delete process.env.MLR_SECRET_FOR_TEST;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a PDF with more pages than the cap', async () => {
    ingestor = make();
    const pdf = makePdf([['a'], ['b'], ['c'], ['d']]);
    await expect(ingestor.file(pdf, 'long.pdf')).rejects.toMatchObject({
      code: 'PdfTooLarge',
      status: 422,
      message: expect.stringMatching(/4 pages; at most 3/),
    });
  });

  it('reports a garbage PDF as unreadable', async () => {
    ingestor = make();
    const err = await ingestor.file(Buffer.from('%PDF-1.4 garbage'), 'x.pdf').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PaperInputError);
    expect(err).toMatchObject({ code: 'UnreadablePdf', status: 400 });
  });
});

import { classifyHeading, detectSections } from '../../src/papers/sections';
import { ingestText } from '../../src/papers/ingest';

describe('classifyHeading', () => {
  it.each([
    ['## 2 Related Work', 'related_work'], ['3. Methodology', 'method'], ['IV. EXPERIMENTAL SETUP', 'experiments'],
    ['Limitations', 'limitations'], ['5 Conclusion and Future Work', 'conclusion'], ['ABSTRACT', 'abstract'], ['Appendix A', 'other'],
  ])('classifies %s as %s', (heading, kind) => {
    expect(classifyHeading(heading)).toBe(kind);
  });
});

describe('detectSections', () => {
  it('finds numbered plain-text headings and an inline abstract', () => {
    const text = 'A Title\nAbstract— We do things.\n1 Introduction\nIntro text.\n2 Method\nHow.\n3 Experiments\nNumbers.';
    const sections = detectSections(text, 'text');
    expect(sections.map((s) => s.kind)).toEqual(['abstract', 'introduction', 'method', 'experiments']);
    expect(text.slice(sections[0]!.offset, sections[0]!.offset + sections[0]!.length).trim()).toBe('We do things.');
  });

  it('ignores ordinary sentences that merely start with a capital letter', () => {
    expect(detectSections('Title\nWe train a model on data.\nThe results are good.', 'text')).toEqual([]);
  });
});

describe('ingestText', () => {
  it('normalises line endings so the same paper hashes the same', () => {
    const a = ingestText('# T\r\n\r\nBody  \r\n', 'markdown');
    const b = ingestText('# T\n\nBody\n', 'markdown');
    expect(a.contentHash).toBe(b.contentHash);
    expect(a.title).toBe('T');
  });
});

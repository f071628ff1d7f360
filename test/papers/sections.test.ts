import { classifyHeading, detectSections, markdownHeading } from '../../src/papers/sections';
import { ingestText, MAX_LINE_CHARS, normalise } from '../../src/papers/ingest';

describe('classifyHeading', () => {
  it.each([
    ['## 2 Related Work', 'related_work'],
    ['3. Methodology', 'method'],
    ['IV. EXPERIMENTAL SETUP', 'experiments'],
    ['Limitations', 'limitations'],
    ['5 Conclusion and Future Work', 'conclusion'],
    ['ABSTRACT', 'abstract'],
    ['Appendix A', 'other'],
  ])('classifies %s as %s', (heading, kind) => {
    expect(classifyHeading(heading)).toBe(kind);
  });
});

describe('detectSections', () => {
  it('finds numbered plain-text headings and an inline abstract', () => {
    const text =
      'A Title\nAbstract— We do things.\n1 Introduction\nIntro text.\n2 Method\nHow.\n3 Experiments\nNumbers.';
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

describe('markdownHeading', () => {
  it.each([
    ['# Title', 'Title'],
    ['## 2 Related Work ##', '2 Related Work'],
    ['### C#', 'C#'],
    ['#Hashtag', undefined],
    ['####### Seven', undefined],
    ['#   ', undefined],
    ['# Spaced   #  ', 'Spaced'],
    ['# A # B', 'A # B'],
  ])('reads %j as %j', (line, heading) => {
    expect(markdownHeading(line)).toBe(heading);
  });
});

// Linear-time parsing: these inputs took seconds to minutes with the old backtracking regexes. The suite
// asserts the answers; bench/api.ts measures the time.
describe('hostile input', () => {
  it('parses a 1 MB heading line of spaces and hashes', () => {
    const line = `# ${' #'.repeat(500_000)}x`;
    expect(detectSections(`${line}\nbody`, 'markdown')).toEqual([]);
    expect(markdownHeading(line)!.endsWith('x')).toBe(true);
    expect(ingestText(`${line.slice(0, 150)}\n\nbody`, 'markdown').title).toMatch(/^#/);
  });

  it('normalises a megabyte of interior whitespace', () => {
    const text = `a${' \t'.repeat(90_000)}b\n${' '.repeat(150_000)}\n\n\n\nc`;
    expect(normalise(text)).toBe(`a${' \t'.repeat(90_000)}b\n\nc`);
  });

  it('classifies a long run of emphasis markers as body text', () => {
    expect(classifyHeading(`${'*'.repeat(100_000)}a`)).toBe('other');
  });

  it('refuses a line longer than the cap with a clear error', () => {
    expect(() => ingestText(`# T\n${'x'.repeat(MAX_LINE_CHARS + 1)}`, 'markdown')).toThrow(
      /line 2 has 200001 characters/,
    );
  });

  it('normalises exactly as the old regexes did on ordinary text', () => {
    const old = (t: string) =>
      t
        .replace(/\r\n?/g, '\n')
        .replace(/[ \t]+\n/g, '\n')
        .replace(/\n{3,}/g, '\n\n')
        .trim();
    const samples = [
      'a \r\n\r\n\r\nb',
      '\n\n x \t\n\n\n\ny  ',
      'one\rtwo\r\n\r\n\r\nthree',
      '   \n\t\n',
      'p\n\nq\n \nr',
    ];
    let seed = 7;
    const alphabet = ['a', ' ', '\t', '\n', '\r', '\r\n', 'b'];
    for (let i = 0; i < 200; i++) {
      let s = '';
      for (let j = 0; j < 30; j++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        s += alphabet[seed % alphabet.length];
      }
      samples.push(s);
    }
    for (const s of samples) expect([s, normalise(s)]).toEqual([s, old(s)]);
  });
});

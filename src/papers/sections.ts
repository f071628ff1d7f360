// Finds the canonical sections of a paper in Markdown, plain text or text extracted from a PDF.

export type SectionKind =
  | 'abstract' | 'introduction' | 'related_work' | 'method' | 'experiments' | 'results'
  | 'limitations' | 'conclusion' | 'references' | 'other';

/** A section as offsets into the paper's text, so the text is stored once. */
export interface Section {
  kind: SectionKind;
  heading: string;
  offset: number;
  length: number;
}

const KINDS: Array<[SectionKind, RegExp]> = [
  ['abstract', /^abstract$/],
  ['introduction', /^(introduction|motivation)$/],
  ['related_work', /^(related work|background|prior work|literature review|related works)/],
  ['method', /^(method|methods|methodology|approach|proposed method|model|our approach|framework)/],
  ['experiments', /^(experiments?|experimental (setup|results|evaluation)|evaluation|empirical)/],
  ['results', /^(results|results and discussion|discussion|analysis)/],
  ['limitations', /^(limitations?|threats to validity|broader impact)/],
  ['conclusion', /^(conclusions?|concluding remarks|future work|conclusion and future work)/],
  ['references', /^(references|bibliography)$/],
];

export function classifyHeading(heading: string): SectionKind {
  const clean = heading
    .toLowerCase()
    .replace(/^[#\s]*/, '')
    .replace(/^((\d+|[ivx]+|[a-z])(\.\d+)*\.?)\s+/, '')
    .replace(/[*_:.]+$/g, '')
    .replace(/\*\*/g, '')
    .trim();
  return KINDS.find(([, re]) => re.test(clean))?.[0] ?? 'other';
}

const MARKDOWN_HEADING = /^#{1,6}\s+(.+?)\s*#*\s*$/;
// A short line that is numbered, or is a known heading word in any case ("2 Related Work", "ABSTRACT").
const TEXT_HEADING = /^(?:(?:\d+|[IVX]+)(?:\.\d+)*\.?\s+)?([A-Z][A-Za-z][A-Za-z &-]{0,60})$/;

export function detectSections(text: string, format: 'markdown' | 'text' | 'pdf'): Section[] {
  const headings: Array<{ heading: string; kind: SectionKind; offset: number; bodyStart: number }> = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    const md = format === 'markdown' ? MARKDOWN_HEADING.exec(trimmed) : null;
    let heading = md?.[1];
    let bodyStart = offset + line.length + 1;
    if (!heading && trimmed.length > 0 && trimmed.length <= 70) {
      const m = TEXT_HEADING.exec(trimmed);
      if (m && (classifyHeading(trimmed) !== 'other' || /^\d/.test(trimmed))) heading = trimmed;
    }
    if (!heading) {
      // "Abstract— We study ..." or "Abstract: ..." opens the abstract on the same line.
      const inline = /^(abstract)\s*[—:.-]\s*/i.exec(trimmed);
      if (inline) {
        heading = inline[1];
        bodyStart = offset + line.indexOf(trimmed) + inline[0].length;
      }
    }
    if (heading) headings.push({ heading: heading.replace(/\*\*/g, '').trim(), kind: classifyHeading(heading), offset, bodyStart });
    offset += line.length + 1;
  }
  return headings.map((h, i) => {
    const end = i + 1 < headings.length ? headings[i + 1]!.offset : text.length;
    const start = Math.min(h.bodyStart, end);
    return { kind: h.kind, heading: h.heading, offset: start, length: Math.max(0, end - start) };
  });
}

// Finds the canonical sections of a paper in Markdown, plain text or text extracted from a PDF.

export type SectionKind =
  | 'abstract'
  | 'introduction'
  | 'related_work'
  | 'method'
  | 'experiments'
  | 'results'
  | 'limitations'
  | 'conclusion'
  | 'references'
  | 'other';

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

/** Longest heading that is classified; anything longer is body text, never a heading. */
export const MAX_HEADING_CHARS = 200;

const isSpace = (c: number): boolean => c === 32 || c === 9;

/** Drops trailing characters in `chars` with one backwards scan (a `/[…]+$/` regex is quadratic). */
function trimEndOf(s: string, chars: string): string {
  let end = s.length;
  while (end > 0 && chars.includes(s[end - 1]!)) end--;
  return s.slice(0, end);
}

export function classifyHeading(heading: string): SectionKind {
  if (heading.length > MAX_HEADING_CHARS) return 'other';
  let clean = heading.toLowerCase();
  let i = 0;
  while (i < clean.length && (clean[i] === '#' || isSpace(clean.charCodeAt(i)))) i++;
  // Bounded input (MAX_HEADING_CHARS) and anchored patterns without nested quantifiers: linear.
  clean = clean.slice(i).replace(/^((\d+|[ivx]+|[a-z])(\.\d+)*\.?)\s+/, '');
  clean = trimEndOf(clean, '*_:.').split('**').join('').trim();
  return KINDS.find(([, re]) => re.test(clean))?.[0] ?? 'other';
}

/**
 * The text of an ATX Markdown heading (`## 2 Method ##`), found by scanning once: the old regex
 * `^#{1,6}\s+(.+?)\s*#*\s*$` was cubic on a long line of spaces and `#`.
 */
export function markdownHeading(line: string): string | undefined {
  let i = 0;
  while (i < line.length && line[i] === '#') i++;
  if (i === 0 || i > 6 || i >= line.length || !isSpace(line.charCodeAt(i))) return undefined;
  let end = line.length;
  while (end > i && isSpace(line.charCodeAt(end - 1))) end--;
  let closing = end;
  while (closing > i && line[closing - 1] === '#') closing--;
  // A closing sequence counts only after a space ("# C#" keeps its #).
  if (closing < end && (closing === i || isSpace(line.charCodeAt(closing - 1)))) end = closing;
  const text = line.slice(i, end).trim();
  return text || undefined;
}

// A short line that is numbered, or is a known heading word in any case ("2 Related Work", "ABSTRACT").
// Only tried on lines of at most 70 characters, so its cost is bounded.
const TEXT_HEADING = /^(?:(?:\d+|[IVX]+)(?:\.\d+)*\.?\s+)?([A-Z][A-Za-z][A-Za-z &-]{0,60})$/;
const INLINE_ABSTRACT = /^(abstract)\s{0,10}[—:.-]\s{0,10}/i;

export function detectSections(text: string, format: 'markdown' | 'text' | 'pdf'): Section[] {
  const headings: Array<{ heading: string; kind: SectionKind; offset: number; bodyStart: number }> = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    const short = trimmed.length > 0 && trimmed.length <= MAX_HEADING_CHARS + 20;
    let heading = format === 'markdown' && short ? markdownHeading(trimmed) : undefined;
    let bodyStart = offset + line.length + 1;
    if (!heading && trimmed.length > 0 && trimmed.length <= 70) {
      const m = TEXT_HEADING.exec(trimmed);
      if (m && (classifyHeading(trimmed) !== 'other' || /^\d/.test(trimmed))) heading = trimmed;
    }
    if (!heading && trimmed) {
      // "Abstract— We study ..." or "Abstract: ..." opens the abstract on the same line.
      const inline = INLINE_ABSTRACT.exec(trimmed.slice(0, 40));
      if (inline) {
        heading = inline[1];
        bodyStart = offset + line.indexOf(trimmed) + inline[0].length;
      }
    }
    if (heading && heading.length <= MAX_HEADING_CHARS) {
      headings.push({
        heading: heading.split('**').join('').trim(),
        kind: classifyHeading(heading),
        offset,
        bodyStart,
      });
    }
    offset += line.length + 1;
  }
  return headings.map((h, i) => {
    const end = i + 1 < headings.length ? headings[i + 1]!.offset : text.length;
    const start = Math.min(h.bodyStart, end);
    return { kind: h.kind, heading: h.heading, offset: start, length: Math.max(0, end - start) };
  });
}

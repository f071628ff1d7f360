// Every number in a report must be one that was measured and stored. These helpers format numbers one
// way everywhere and find any number in a text that no stored record contains.

/** The one number format of reports: integers as they are, others to 4 significant digits. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(4)));
}

/** Numbers the report's fixed wording uses: the 95% interval, α = 0.05, the five-seed threshold, the perfect-metric bound. */
export const CONSTANTS = new Set(['95', '0.05', '5', '0.999']);

const NUMBER = /(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.]*\w)/gi;

/** Numbers in prose: code spans, fenced blocks (hashes, ids, dates, diffs) and link targets are skipped. */
export function numbersIn(text: string): string[] {
  const prose = text
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/`[^`]*`/g, ' ')
    .replace(/\]\([^)]*\)/g, ']');
  return [...prose.matchAll(NUMBER)].map((m) => m[0]);
}

/** Every number in the records, formatted as a report would show it. */
export function recordedNumbers(records: unknown[]): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'number') {
      out.add(num(v));
      if (v < 0) out.add(num(-v));
    } else if (typeof v === 'string') {
      // Stored text (a gap, an idea) may be quoted in the report: its numbers are on record too.
      for (const n of numbersIn(v)) out.add(num(Number(n)));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  records.forEach(walk);
  return out;
}

/** The numbers in the text that no record holds (empty when every number is accounted for). */
export function unmeasuredNumbers(text: string, records: unknown[]): string[] {
  const known = recordedNumbers(records);
  return numbersIn(text).filter((n) => !known.has(num(Number(n))) && !CONSTANTS.has(n));
}

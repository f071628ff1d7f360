// Deterministic repairs of answers that pass their schema but not their meaning, which small models
// (served by Ollama or vLLM, say) often give. A repaired answer is used and the repair is recorded; it
// never fails a run that a reasonable reading of the answer can carry on.

export interface Ranking {
  index: number;
  score: number;
  critique: string;
}

export interface RankedIdea {
  /** Position of the idea in the round. */
  index: number;
  /** 1 is best. */
  rank: number;
  /** The reviewer's score; null when the reviewer skipped the idea (no score is invented). */
  score: number | null;
  critique: string;
}

/**
 * Ranks n ideas from a review: by score (best first), ties in the reviewer's order. Indices out of range
 * and repeats are dropped, and ideas the reviewer skipped are ranked last in their own order.
 */
export function rankFromReview(rankings: Ranking[], n: number): { ranked: RankedIdea[]; repairs: string[] } {
  const repairs: string[] = [];
  const seen = new Map<number, { order: number; r: Ranking }>();
  rankings.forEach((r, order) => {
    if (!Number.isInteger(r.index) || r.index < 0 || r.index >= n)
      repairs.push(`dropped a review of index ${r.index}, which is not an idea (0..${n - 1})`);
    else if (seen.has(r.index)) repairs.push(`dropped a repeated review of index ${r.index}`);
    else seen.set(r.index, { order, r });
  });
  const reviewed = [...seen.values()].sort((a, b) => b.r.score - a.r.score || a.order - b.order);
  if (reviewed.some((x, i) => x.order !== [...seen.values()][i]!.order))
    repairs.push('ranked by score: the reviewer listed ideas in another order');
  const ranked: RankedIdea[] = reviewed.map((x, i) => ({
    index: x.r.index,
    rank: i + 1,
    score: x.r.score,
    critique: x.r.critique,
  }));
  for (let index = 0; index < n; index++) {
    if (seen.has(index)) continue;
    repairs.push(`index ${index} was not reviewed; ranked after the reviewed ideas`);
    ranked.push({
      index,
      rank: ranked.length + 1,
      score: null,
      critique: 'Not reviewed: the reviewer gave no review of this idea.',
    });
  }
  return { ranked, repairs };
}

/** At most `count` ideas: extra ones are dropped (fewer are re-asked for; an idea is never invented). */
export function trimIdeas<T>(ideas: T[], count: number): { ideas: T[]; repairs: string[] } {
  if (ideas.length <= count) return { ideas, repairs: [] };
  return { ideas: ideas.slice(0, count), repairs: [`kept the first ${count} of ${ideas.length} ideas`] };
}

/** Keywords trimmed and de-duplicated (case-insensitively), blank ones dropped; gaps de-duplicated. */
export function repairAnalysis<A extends { keywords: string[]; gaps: Array<{ gap: string }> }>(
  a: A,
): { value: A; repairs: string[] } {
  const repairs: string[] = [];
  const seen = new Set<string>();
  const keywords: string[] = [];
  for (const k of a.keywords) {
    const clean = k.trim().slice(0, 100);
    if (!clean || seen.has(clean.toLowerCase())) continue;
    seen.add(clean.toLowerCase());
    keywords.push(clean);
  }
  if (keywords.length !== a.keywords.length || keywords.some((k, i) => k !== a.keywords[i])) {
    repairs.push(`keywords cleaned: ${a.keywords.length} given, ${keywords.length} kept`);
  }
  const gapSeen = new Set<string>();
  const gaps = a.gaps.filter((g) => {
    const key = g.gap.trim().toLowerCase();
    if (gapSeen.has(key)) return false;
    gapSeen.add(key);
    return true;
  });
  if (gaps.length !== a.gaps.length) repairs.push(`dropped ${a.gaps.length - gaps.length} repeated gap(s)`);
  return { value: { ...a, keywords, gaps }, repairs };
}

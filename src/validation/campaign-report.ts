// The campaign's leaderboard and report: one row per run, every number taken from the stored validation
// record (the effect's interval is computed from the stored per-arm summaries, never from model text), and a
// forest plot of every validated effect with its 95% interval, as SVG drawn here (no renderer process).
import type { Spend } from '../domain/budget';
import { holm } from './multiple';
import { num } from './provenance';
import type { ValidationRecord } from './report';
import { tCritical95, type Summary } from './stats';
import type { Verdict } from './verdict';

export interface CampaignRunFacts {
  runId: string;
  slot: number;
  status: string;
  paper: { id: string; title: string };
  idea: { id: string; title: string } | null;
  taskId: string | null;
  validation: ValidationRecord | null;
  spend: Spend;
}

export interface ResultRow {
  runId: string;
  status: string;
  paper: { id: string; title: string };
  idea: { id: string; title: string } | null;
  taskId: string | null;
  metric: string | null;
  verdict: Verdict | null;
  /** Mean improvement of the candidate over the baseline (positive is better), with its 95% interval. */
  effect: { estimate: number; ci95: [number, number]; cohensD: number } | null;
  pValue: number | null;
  /**
   * p adjusted by Holm's step-down across the campaign's validated comparisons (family-wise α): a campaign
   * tries many ideas, and one of twenty passing at 0.05 by chance is no finding.
   */
  pAdjusted: number | null;
  /** The verdict once adjusted: `supported` only where the adjusted p is below α as well. */
  adjustedVerdict: Verdict | null;
  seeds: number | null;
  cost: Spend;
}

/** Welch's 95% interval of the mean difference candidate − baseline, signed so that positive is better. */
export function differenceInterval(b: Summary, c: Summary, direction: 'max' | 'min'): [number, number] {
  const sign = direction === 'max' ? 1 : -1;
  const diff = sign * (c.mean - b.mean);
  const vb = b.n > 0 ? b.std ** 2 / b.n : 0;
  const vc = c.n > 0 ? c.std ** 2 / c.n : 0;
  const se = Math.sqrt(vb + vc);
  if (se === 0 || b.n < 2 || c.n < 2) return [diff, diff];
  const df = (vb + vc) ** 2 / ((vb * vb) / (b.n - 1) + (vc * vc) / (c.n - 1));
  const half = tCritical95(df) * se;
  return [diff - half, diff + half];
}

export function resultRow(f: CampaignRunFacts): ResultRow {
  const v = f.validation;
  return {
    runId: f.runId,
    status: f.status,
    paper: f.paper,
    idea: f.idea,
    taskId: f.taskId,
    metric: v?.metric ?? null,
    verdict: v?.verdict ?? null,
    effect: v
      ? {
          estimate: v.meanImprovement,
          ci95: differenceInterval(v.baseline, v.candidate, v.direction),
          cohensD: v.effectSize,
        }
      : null,
    pValue: v?.pValue ?? null,
    pAdjusted: null,
    adjustedVerdict: null,
    seeds: v ? v.seeds.length : null,
    cost: f.spend,
  };
}

/** Validated rows first, best effect first; then the rest in slot order (the order given). */
export function leaderboard(facts: CampaignRunFacts[]): ResultRow[] {
  const rows = facts.map(resultRow);
  const alphas = new Map(facts.map((f) => [f.runId, f.validation?.alpha]));
  const tested = rows.filter((r) => r.pValue !== null);
  const adjusted = holm(tested.map((r) => r.pValue!));
  tested.forEach((r, i) => {
    const alpha = alphas.get(r.runId)!;
    r.pAdjusted = adjusted[i]!;
    r.adjustedVerdict = r.verdict === 'supported' && r.pAdjusted >= alpha ? 'inconclusive' : r.verdict;
  });
  const validated = rows.filter((r) => r.effect).sort((a, b) => b.effect!.estimate - a.effect!.estimate);
  return [...validated, ...rows.filter((r) => !r.effect)];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
/** Table cells from untrusted titles: no pipes or line breaks to break the table. */
const cell = (s: string) => clip(s.replace(/[|\r\n]+/g, ' '), 80);

export interface CampaignSummary {
  id: string;
  name: string;
  status: string;
  runs: { total: number; byStatus: Record<string, number> };
  spend: Spend;
  budget: { usd?: number; tokens?: number; gpuHours?: number };
}

export function renderCampaignMarkdown(c: CampaignSummary, rows: ResultRow[]): string {
  const out: string[] = [`# Campaign report: ${cell(c.name)}`, ''];
  out.push(`Status: **${c.status}** · runs: ${c.runs.total} planned`);
  const counts = Object.entries(c.runs.byStatus)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  out.push('', `- Runs by status: ${counts || 'none yet'}`);
  const spent = (k: 'usd' | 'tokens' | 'gpuHours') =>
    `${num(c.spend[k])}${c.budget[k] !== undefined ? ` of ${num(c.budget[k])}` : ''}`;
  out.push(`- Spend: USD ${spent('usd')}; tokens ${spent('tokens')}; GPU-hours ${spent('gpuHours')}`);
  out.push('', '## Results', '');
  out.push('| Paper | Idea | Task | Verdict | Adjusted verdict | Effect (95% CI) | p | p (Holm) | Seeds | USD |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const effect = r.effect ? `${num(r.effect.estimate)} [${num(r.effect.ci95[0])}, ${num(r.effect.ci95[1])}]` : '—';
    out.push(
      `| ${cell(r.paper.title)} | ${r.idea ? cell(r.idea.title) : '—'} | ${r.taskId ?? '—'} | ${r.verdict ?? r.status} | ` +
        `${r.adjustedVerdict ?? '—'} | ${effect} | ${r.pValue === null ? '—' : num(r.pValue)} | ` +
        `${r.pAdjusted === null ? '—' : num(r.pAdjusted)} | ${r.seeds ?? '—'} | ${num(r.cost.usd)} |`,
    );
  }
  out.push('', "Effects are mean improvements of the candidate over the baseline in the metric's units (positive is");
  out.push("better), with Welch 95% intervals from the stored per-seed measurements; see each run's report.");
  out.push('p (Holm) adjusts each p-value for every validated comparison in this campaign (Holm, family-wise);');
  out.push('the adjusted verdict is supported only where that p is below α too. Raw p and verdict are per run.');
  return out.join('\n') + '\n';
}

/** A forest plot: one line per validated run, its effect's 95% interval, and zero marked. */
export function forestSvg(rows: ResultRow[]): string {
  const shown = rows.filter((r) => r.effect);
  const width = 760;
  const labelW = 300;
  const rowH = 22;
  const top = 36;
  const height = top + Math.max(1, shown.length) * rowH + 40;
  const values = shown.flatMap((r) => [r.effect!.ci95[0], r.effect!.ci95[1], 0]);
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (hi - lo < 1e-12) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const x = (v: number) => labelW + ((v - lo) / (hi - lo)) * (width - labelW - 20);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14">Validated effects (candidate − baseline, positive is better) with 95% intervals</text>`,
    `<line x1="${x(0)}" y1="${top - 6}" x2="${x(0)}" y2="${height - 34}" stroke="#888" stroke-dasharray="4 3"/>`,
  ];
  if (shown.length === 0) parts.push(`<text x="${labelW}" y="${top + 14}">No validated effects yet</text>`);
  shown.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    const e = r.effect!;
    const colour = r.verdict === 'supported' ? '#1a7f37' : r.verdict === 'not_supported' ? '#cf222e' : '#9a6700';
    const label = `${clip(r.paper.title, 22)} · ${clip(r.idea?.title ?? '', 22)}`;
    parts.push(
      `<text x="10" y="${y + 4}">${esc(label)}</text>`,
      `<line x1="${x(e.ci95[0])}" y1="${y}" x2="${x(e.ci95[1])}" y2="${y}" stroke="${colour}" stroke-width="2"/>`,
      `<circle cx="${x(e.estimate)}" cy="${y}" r="4" fill="${colour}"><title>${esc(
        `${num(e.estimate)} [${num(e.ci95[0])}, ${num(e.ci95[1])}] ${r.verdict ?? ''}`,
      )}</title></circle>`,
    );
  });
  const axisY = height - 24;
  for (const v of [lo + pad, 0, hi - pad]) {
    parts.push(`<text x="${x(v)}" y="${axisY}" text-anchor="middle">${num(v)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

// The research report as data, Markdown and HTML. Numbers are printed only through num(), and only from
// the stored records that ReportData carries; the model contributes prose alone.
import type { Idea } from '../domain/schemas';
import type { Flag } from './checks';
import type { HubFetched } from '../domain/hub';
import { num } from './provenance';
import type { Comparison } from './verdict';

export interface ValidationRun {
  role: 'baseline' | 'candidate';
  seed: number;
  codeHash: string;
  experimentId: string;
  status: string;
  metrics: Record<string, unknown> | null;
}

export interface ValidationRecord extends Comparison {
  metric: string;
  direction: 'max' | 'min';
  seeds: number[];
  alpha: number;
  failedSeeds: number;
  runs: ValidationRun[];
}

export interface Provenance {
  starterHash: string;
  candidateHash: string;
  dataHash: string;
  python: string;
  packages: Record<string, string>;
  models: string[];
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  wallTimeMs: number;
  computeTimeMs: number;
  /** Hub repositories the run's experiments could read, each pinned to its commit. */
  hub?: HubFetched[];
}

export interface Discussion {
  interpretation: string;
  limitations: string[];
  /** Set when the model's text was withheld (it cited numbers that were never measured). */
  withheld?: string;
}

export interface ReportData {
  runId: string;
  generatedAt: string;
  /** Null for a benchmark's run, which reads no paper. */
  paper: { id: string; title: string } | null;
  task: {
    id: string;
    domain: string;
    metric: string;
    direction: 'max' | 'min';
    /** A baseline the task declares instead of running its starter (every baseline value below is this). */
    fixedBaseline?: number;
  };
  gaps: Array<{ gap: string; evidence: string }>;
  idea: Idea;
  diff: { files: string[]; additions: number; deletions: number };
  validation: ValidationRecord;
  flags: Flag[];
  provenance: Provenance;
  discussion: Discussion;
}

export function diffStats(diff: string): ReportData['diff'] {
  const files = [...diff.matchAll(/^\+\+\+ b\/(.+)$/gm)].map((m) => m[1]!.trim());
  const lines = diff.split('\n');
  return {
    files,
    additions: lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length,
    deletions: lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).length,
  };
}

const VERDICT_TEXT = { supported: 'supported', not_supported: 'not supported', inconclusive: 'inconclusive' } as const;
const TEST_TEXT = { welch_t: "Welch's t-test", permutation_exact: 'exact permutation test' } as const;

const ci = (c: [number, number]) => `[${num(c[0])}, ${num(c[1])}]`;

export function renderMarkdown(d: ReportData): string {
  const v = d.validation;
  const p = d.provenance;
  const out: string[] = [];
  out.push(`# Research report: ${d.idea.title}`, '');
  out.push(
    `Run \`${d.runId}\` · ${d.paper ? `paper “${d.paper.title}”` : 'benchmark run'} · task \`${d.task.id}\` (${d.task.domain}) · generated \`${d.generatedAt}\``,
    '',
  );
  out.push('## Verdict', '', `**${VERDICT_TEXT[v.verdict]}**. ${v.rule}`, '');
  if (d.paper) {
    out.push('## Paper and research gaps', '', ...d.gaps.map((g) => `- ${g.gap} (evidence: ${g.evidence})`), '');
  }
  out.push(
    '## Idea and hypothesis',
    '',
    `**${d.idea.title}**: ${d.idea.problem}`,
    '',
    `Hypothesis: ${d.idea.hypothesis}`,
    '',
  );
  out.push(
    '## Experiment plan',
    '',
    ...d.idea.experimentPlan.steps.map((s) => `- ${s}`),
    '',
    `Dataset: ${d.idea.experimentPlan.dataset}. Model: ${d.idea.experimentPlan.model}. Metric: ${d.idea.experimentPlan.metric}. ` +
      `Baseline: ${d.idea.experimentPlan.baseline}.`,
    '',
  );
  out.push(
    '## Code changes',
    '',
    d.diff.files.length
      ? `${d.diff.files.map((f) => `\`${f}\``).join(', ')}: ${num(d.diff.additions)} lines added, ${num(d.diff.deletions)} removed (full diff: \`GET /v1/runs/${d.runId}/workspace\`).`
      : 'None: the candidate is the starter code.',
    '',
  );
  out.push(`## Results: ${v.metric} (${v.direction === 'max' ? 'higher' : 'lower'} is better)`, '');
  if (d.task.fixedBaseline !== undefined) {
    out.push(
      `The baseline is the fixed value ${d.task.fixedBaseline} that the task declares (task.json): its starter ` +
        'is not meant to run, so the baseline was not measured. Only the candidate was.',
      '',
    );
  }
  out.push(
    '| | baseline | candidate |',
    '|---|---|---|',
    `| mean | ${num(v.baseline.mean)} | ${num(v.candidate.mean)} |`,
    `| standard deviation | ${num(v.baseline.std)} | ${num(v.candidate.std)} |`,
    `| 95% confidence interval | ${ci(v.baseline.ci)} | ${ci(v.candidate.ci)} |`,
    `| per seed | ${v.baseline.values.map(num).join(', ')} | ${v.candidate.values.map(num).join(', ')} |`,
    '',
  );
  out.push(
    `Seeds: ${v.seeds.map(num).join(', ')}. ${TEST_TEXT[v.test]}: p = ${num(v.pValue)}. ` +
      `Effect size (Cohen's d, positive = better): ${num(v.effectSize)}. Mean improvement: ${num(v.meanImprovement)}.`,
    '',
  );
  out.push(`![Per-seed ${v.metric} with mean and 95% interval](/v1/runs/${d.runId}/report/chart.svg)`, '');
  out.push(
    '## Checks',
    '',
    ...(d.flags.length ? d.flags.map((f) => `- **${f.kind}**: ${f.message}`) : ['No check raised a flag.']),
    '',
  );
  out.push(
    '## Discussion',
    '',
    '_Written by the ValidateAgent from the measured values above; it states no numbers of its own._',
    '',
  );
  out.push(d.discussion.withheld ? `_${d.discussion.withheld}_` : d.discussion.interpretation, '');
  out.push(
    '## Limitations',
    '',
    ...(d.discussion.limitations.length ? d.discussion.limitations.map((l) => `- ${l}`) : ['- None stated.']),
    '',
  );
  out.push(
    '## Provenance',
    '',
    `- Code: starter \`${p.starterHash}\`, candidate \`${p.candidateHash}\``,
    `- Data: \`${p.dataHash}\``,
    `- Python \`${p.python}\`; packages ${Object.entries(p.packages)
      .map(([k, ver]) => `\`${k}==${ver}\``)
      .join(', ')}`,
    `- Models: ${p.models.map((m) => `\`${m}\``).join(', ') || 'none'}`,
    ...(p.hub ?? []).map(
      (h) =>
        `- Hub ${h.kind} \`${h.id}\` at \`${h.revision}\`: ${num(h.files.length)} files, ${num(h.bytes)} bytes, ` +
        `licence ${h.licence ?? 'none'}`,
    ),
    `- Tokens: ${num(p.promptTokens)} prompt, ${num(p.completionTokens)} completion; cost $${num(p.costUsd)}`,
    `- Wall time ${num(p.wallTimeMs)} ms; compute time (sum of executions) ${num(p.computeTimeMs)} ms`,
    ...v.runs.map(
      (r) =>
        `- \`${r.role}\` seed ${num(r.seed)}: experiment \`${r.experimentId}\`, code \`${r.codeHash.slice(0, 12)}\`, ${r.status}`,
    ),
    '',
  );
  return out.join('\n');
}

/** Where a report's Markdown points at its own chart. */
const CHART_SRC = /^\/v1\/(runs|campaigns|benchmarks)\/[0-9a-f-]{36}\/report\/chart\.svg$/;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The policy of every HTML report, in its own head too: a saved copy opened from disk fetches nothing either. */
export const REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/**
 * HTML from the Markdown's own lines: headings, lists, tables, paragraphs; code spans and emphasis. Text in a
 * report comes from papers and models, so no image in it is ever loaded: the report's own chart is replaced
 * by `figure` (inline SVG) where one is given, and every other image is shown as its alt text.
 */
export function renderHtml(markdown: string, title: string, figure?: string): string {
  const inline = (s: string) =>
    esc(s)
      .replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, (_, alt: string, src: string) =>
        figure !== undefined && CHART_SRC.test(src) ? `</p><figure>${figure}</figure><p>` : `[image: ${alt}]`,
      )
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/_([^_]+)_/g, '<em>$1</em>');
  const html: string[] = [];
  let list = false;
  let table = false;
  for (const line of markdown.split('\n')) {
    if (list && !line.startsWith('- ')) {
      html.push('</ul>');
      list = false;
    }
    if (table && !line.startsWith('|')) {
      html.push('</table>');
      table = false;
    }
    if (line.startsWith('# ')) html.push(`<h1>${inline(line.slice(2))}</h1>`);
    else if (line.startsWith('## ')) html.push(`<h2>${inline(line.slice(3))}</h2>`);
    else if (line.startsWith('- ')) {
      if (!list) {
        html.push('<ul>');
        list = true;
      }
      html.push(`<li>${inline(line.slice(2))}</li>`);
    } else if (line.startsWith('|')) {
      if (/^\|[-| ]+\|$/.test(line)) continue;
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((c) => inline(c.trim()));
      html.push(`${table ? '' : '<table>'}<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`);
      table = true;
    } else if (line.trim()) html.push(`<p>${inline(line)}</p>`);
  }
  if (list) html.push('</ul>');
  if (table) html.push('</table>');
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"><title>${esc(title)}</title>` +
    '<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;line-height:1.5}td{border:1px solid #ccc;padding:.2rem .5rem}table{border-collapse:collapse}code{background:#f4f4f4}</style>' +
    `</head><body>${html.join('\n')}</body></html>`
  );
}

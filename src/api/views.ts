// Row → response shapes, and the opaque list cursor.
import type { HubFetched } from '../domain/hub';
import type { StepView } from '../db/agent';
import type { ExperimentRow } from '../db/experiments';
import type { IdeaRow } from '../db/ideas';
import type { Usage } from '../db/llm-calls';
import type { PaperRow, PaperSummary } from '../db/papers';
import type { RunRow } from '../db/runs';
import { ZERO_SPEND, type Spend } from '../domain/budget';
import { HttpError } from '../errors';

export function encodeCursor(row: { created_at: Date; id: string }): string {
  return Buffer.from(`${row.created_at.toISOString()}|${row.id}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { createdAt: string; id: string } | undefined {
  if (!cursor) return undefined;
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw new HttpError(400, 'InvalidCursor', 'cursor is not one this API returned');
  }
  return { createdAt, id };
}

export const paperSummaryView = (p: PaperSummary) => ({
  id: p.id,
  owner: p.owner,
  title: p.title,
  format: p.format,
  contentHash: p.content_hash,
  bytes: p.bytes,
  createdAt: p.created_at.toISOString(),
});

export const paperView = (p: PaperRow) => ({
  ...paperSummaryView(p),
  content: p.content,
  sections: p.sections.map((s) => ({
    kind: s.kind,
    heading: s.heading,
    chars: s.length,
    text: p.content.slice(s.offset, s.offset + s.length),
  })),
});

export const ideaView = (i: IdeaRow) => ({ id: i.id, round: i.round, rank: i.rank, review: i.review, ...i.body });

export const experimentView = (e: ExperimentRow) => ({
  id: e.id,
  role: e.role,
  attempt: e.attempt,
  codeHash: e.code_hash,
  seed: e.seed,
  script: e.script,
  status: e.status,
  exitCode: e.exit_code,
  durationMs: e.duration_ms,
  peakMemoryMb: e.peak_memory_mb === null ? null : Number(e.peak_memory_mb),
  metrics: e.metrics,
  error: e.error,
  logTail: e.log_tail,
  networkIsolated: e.network_isolated,
  sandbox: e.sandbox,
  executor: e.executor,
  placement: e.placement,
});

export function runView(
  r: RunRow,
  ideas: IdeaRow[],
  usage: Usage,
  experiments: ExperimentRow[] = [],
  spend: Spend = { ...ZERO_SPEND },
  hub: HubFetched[] = [],
) {
  return {
    id: r.id,
    owner: r.owner,
    status: r.status,
    paperId: r.paper_id,
    mode: r.mode,
    ideaCount: r.idea_count,
    approvalTimeout: r.approval_timeout,
    round: r.round,
    taskDefinition: r.task_definition,
    gaps: r.gaps,
    keywords: r.keywords,
    relatedWork: r.related_work,
    retrieval: r.retrieval,
    ideas: [...ideas].sort((a, b) => (a.rank ?? 99) - (b.rank ?? 99)).map(ideaView),
    selectedIdeaId: r.selected_idea_id,
    until: r.until,
    taskId: r.task_id,
    paused: r.paused,
    // The agent's own executions (role agent) too: a failure it debugged is part of the record.
    experiments: experiments.map(experimentView),
    // Hub models and datasets the run fetched, each pinned to its commit.
    hub,
    result: r.result,
    validation: r.validation,
    usage,
    // What the ledger counts against the budget: settled costs plus live reservations.
    spend,
    budget: r.budget,
    campaign: r.campaign_id
      ? { id: r.campaign_id, slot: r.campaign_slot, ideaRank: r.input?.campaign?.ideaRank ?? null }
      : null,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** Bounded text: the head and the tail, with how much was left out. */
export function bounded(text: string | null, max: number): { text: string | null; truncated: boolean } {
  if (text === null || text.length <= max) return { text, truncated: false };
  const half = Math.floor(max / 2);
  return {
    text: `${text.slice(0, half)}\n… [${text.length - 2 * half} characters omitted] …\n${text.slice(-half)}`,
    truncated: true,
  };
}

export function stepView(s: StepView, maxObservation: number) {
  const observation = bounded(s.observation, maxObservation);
  return {
    step: s.step,
    tool: s.tool,
    args: s.args,
    observation: observation.text,
    observationTruncated: observation.truncated,
    error: s.error,
    experimentId: s.experiment_id,
    experimentStatus: s.experiment_status,
    createdAt: s.created_at.toISOString(),
  };
}

// The idea stage: analyse the paper, retrieve related work, propose and rank ideas. Every answer is stored
// before the activity completes, so a retried activity returns what was stored instead of asking again.
import { ApplicationFailure } from '@temporalio/common';
import { ScholarBusyError, ScholarUnavailableError, type ScholarPaper } from '../clients/scholar';
import { appendEvent } from '../db/events';
import { ideasForRound, insertIdeas, setIdeaRanks } from '../db/ideas';
import { getRunWithPaper, patchRun } from '../db/runs';
import { ErrorType } from '../errors';
import type { ActivityDeps } from './deps';
import type { IdeaRef } from '../domain/run-input';
import { activityAttempt, withHeartbeat } from './heartbeat';
import { analysisPrompt, ideationPrompt, reviewPrompt } from './prompts';
import { analysisSchema, ideasSchema, reviewSchema, type Analysis } from '../domain/schemas';
import { cachedSearch } from './scholar-cache';
import { structuredCall } from './structured';
import { rankFromReview, repairAnalysis, trimIdeas } from '../domain/repair';

export function createIdeaActivities(deps: ActivityDeps) {
  const { db } = deps;

  async function loadRun(runId: string) {
    const found = await getRunWithPaper(db, runId);
    if (!found) throw ApplicationFailure.nonRetryable(`run ${runId} not found`, ErrorType.NotFound);
    const { run, paper } = found;
    if (!paper) throw ApplicationFailure.nonRetryable(`paper ${run.paper_id} not found`, ErrorType.NotFound);
    return { run, paper };
  }

  return {
    async analyzePaper({ runId }: { runId: string }): Promise<{ keywords: string[] }> {
      const { run, paper } = await loadRun(runId);
      if (run.task_definition && run.keywords) return { keywords: run.keywords };
      const analysis = await withHeartbeat((signal) =>
        structuredCall(deps, {
          runId,
          role: 'analysis',
          callKey: 'analysis',
          name: 'paper_analysis',
          schema: analysisSchema,
          messages: analysisPrompt(paper.title, paper.content),
          signal,
          repair: repairAnalysis,
        }),
      );
      await patchRun(db, runId, {
        task_definition: analysis.taskDefinition,
        gaps: analysis.gaps,
        keywords: analysis.keywords,
      });
      return { keywords: analysis.keywords };
    },

    /** Never fails the run for Semantic Scholar: an outage is recorded as "retrieval unavailable". */
    async retrieveRelatedWork({ runId }: { runId: string }): Promise<{ status: 'ok' | 'unavailable'; count: number }> {
      const { run, paper } = await loadRun(runId);
      if (run.retrieval) return { status: run.retrieval.status, count: run.related_work?.length ?? 0 };
      const queries = [(run.keywords ?? []).slice(0, 4).join(' '), paper.title].filter((q) => q.trim());
      const found = new Map<string, ScholarPaper>();
      try {
        for (const query of queries) {
          const papers = await withHeartbeat((signal) => cachedSearch(deps, query, 10, signal));
          for (const p of papers) if (p.paperId && !found.has(p.paperId)) found.set(p.paperId, p);
        }
      } catch (err) {
        if (err instanceof ScholarBusyError) {
          // Waiting our turn is a durable timer, not a held slot: retried after the queue's delay, a few times;
          // the last allowed attempt records retrieval as unavailable instead of failing the run.
          const attempt = activityAttempt();
          const allowed = Math.min(deps.config.MLR_S2_BUSY_RETRIES, deps.config.MLR_LLM_MAX_ATTEMPTS - 1);
          if (attempt <= allowed) {
            throw ApplicationFailure.create({
              type: ErrorType.ScholarBusy,
              message: err.message,
              nextRetryDelay: Math.ceil(err.retryAfterMs),
            });
          }
        } else if (!(err instanceof ScholarUnavailableError)) throw err;
        const retrieval = { status: 'unavailable' as const, reason: (err as Error).message };
        await patchRun(db, runId, { retrieval, related_work: [] });
        await appendEvent(db, runId, 'retrieval', retrieval);
        return { status: 'unavailable', count: 0 };
      }
      const relatedWork = [...found.values()].filter((p) => p.title !== paper.title).slice(0, 15);
      await patchRun(db, runId, { retrieval: { status: 'ok', source: 'semantic_scholar' }, related_work: relatedWork });
      await appendEvent(db, runId, 'retrieval', { status: 'ok', count: relatedWork.length });
      return { status: 'ok', count: relatedWork.length };
    },

    async generateIdeas(input: {
      runId: string;
      round: number;
      count: number;
      feedback?: string;
    }): Promise<{ ideaIds: string[] }> {
      const { run, paper } = await loadRun(input.runId);
      const existing = await ideasForRound(db, input.runId, input.round);
      if (existing.length > 0) return { ideaIds: existing.map((i) => i.id) };
      const previous =
        input.round > 0 ? (await ideasForRound(db, input.runId, input.round - 1)).map((i) => i.body) : [];
      const analysis = { taskDefinition: run.task_definition, gaps: run.gaps, keywords: run.keywords } as Analysis;
      const { ideas } = await withHeartbeat((signal) =>
        structuredCall(deps, {
          runId: input.runId,
          role: 'ideation',
          callKey: `ideate:${input.round}`,
          name: 'research_ideas',
          schema: ideasSchema,
          messages: ideationPrompt({
            title: paper.title,
            analysis,
            related: (run.related_work ?? []) as ScholarPaper[],
            count: input.count,
            feedback: input.feedback,
            previous,
          }),
          // More ideas than asked are trimmed; fewer are kept (the person sees how many came): neither is fatal.
          repair: (v) => {
            const trimmed = trimIdeas(v.ideas, input.count);
            const short = v.ideas.length < input.count ? [`asked for ${input.count} ideas, got ${v.ideas.length}`] : [];
            return { value: { ideas: trimmed.ideas }, repairs: [...trimmed.repairs, ...short] };
          },
          signal,
        }),
      );
      const rows = await insertIdeas(db, input.runId, input.round, ideas);
      return { ideaIds: rows.map((r) => r.id) };
    },

    /** Ranks the round's ideas; rank 1 is best. */
    async reviewIdeas(input: { runId: string; round: number }): Promise<IdeaRef[]> {
      const { paper } = await loadRun(input.runId);
      const rows = await ideasForRound(db, input.runId, input.round);
      if (rows.length > 0 && rows.every((r) => r.rank !== null)) {
        return rows.map((r) => ({ id: r.id, title: r.body.title, rank: r.rank! })).sort((a, b) => a.rank - b.rank);
      }
      const { rankings } = await withHeartbeat((signal) =>
        structuredCall(deps, {
          runId: input.runId,
          role: 'review',
          callKey: `review:${input.round}`,
          name: 'idea_review',
          schema: reviewSchema,
          messages: reviewPrompt(
            paper.title,
            rows.map((r) => r.body),
          ),
          // Repeated, out-of-range or missing indices are repaired (ranks come from scores), never fatal.
          repair: (v) => {
            const { repairs } = rankFromReview(v.rankings, rows.length);
            return { value: v, repairs };
          },
          signal,
        }),
      );
      const { ranked } = rankFromReview(rankings, rows.length);
      const refs: IdeaRef[] = ranked.map((r) => ({
        id: rows[r.index]!.id,
        title: rows[r.index]!.body.title,
        rank: r.rank,
      }));
      await setIdeaRanks(
        db,
        ranked.map((r) => ({ id: rows[r.index]!.id, rank: r.rank, review: { score: r.score, critique: r.critique } })),
      );
      return refs;
    },
  };
}

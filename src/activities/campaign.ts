// Activities of campaigns and of the runs in them: run creation per slot, the campaign's record and budget,
// the Postgres check on children's messages, adopting a sibling's ideas, budget checks and webhooks.
import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { getCampaign, insertCampaignRuns, runProgress, setCampaignStatus, topUpCampaignBudget } from '../db/campaigns';
import { wouldFit } from '../db/ledger';
import { copyRankedIdeas } from '../db/ideas';
import { getRun, patchRun } from '../db/runs';
import type { Budget, BudgetExhaustion } from '../domain/budget';
import { defaultRunBudget } from '../config';
import { ErrorType } from '../errors';
import { campaignRunInput, type CampaignStatus } from '../domain/campaign-input';
import { isFinished, type ChildNote, type IdeaRef } from '../domain/run-input';
import type { WebhookRequest } from '../domain/run-input';
import type { ActivityDeps } from './deps';
import { webhookPayload } from './webhook-payload';

export function createCampaignActivities(deps: ActivityDeps) {
  const { db, config } = deps;

  async function loadCampaign(campaignId: string) {
    const campaign = await getCampaign(db, campaignId);
    if (!campaign) throw ApplicationFailure.nonRetryable(`campaign ${campaignId} not found`, ErrorType.NotFound);
    return campaign;
  }

  return {
    async recordCampaign(input: { campaignId: string; status: CampaignStatus; data: Record<string, unknown> }) {
      await setCampaignStatus(db, input.campaignId, input.status, input.data);
    },

    async topUpCampaign(input: { campaignId: string; add: Budget }): Promise<Budget> {
      return topUpCampaignBudget(db, input.campaignId, input.add);
    },

    /** The rows of a batch of slots (created once each) and their run ids, for the campaign to start. */
    async createCampaignRuns(input: {
      campaignId: string;
      slots: Array<{ slot: number; ideasFrom?: string }>;
    }): Promise<Array<{ slot: number; runId: string }>> {
      const campaign = await loadCampaign(input.campaignId);
      return insertCampaignRuns(
        db,
        campaign,
        input.slots.map(({ slot, ideasFrom }) => ({
          slot,
          input: (runId: string) => campaignRunInput(campaign.spec, slot, runId, ideasFrom),
        })),
        campaign.spec.runBudget,
      );
    },

    /** What Postgres knows of active runs, as the messages they would have sent: ideas ready, finished. */
    async campaignRunNotes(input: { runs: Array<{ slot: number; runId: string }> }): Promise<ChildNote[]> {
      const progress = new Map(
        (
          await runProgress(
            db,
            input.runs.map((r) => r.runId),
          )
        ).map((p) => [p.id, p]),
      );
      const notes: ChildNote[] = [];
      for (const { slot, runId } of input.runs) {
        const p = progress.get(runId);
        if (!p || !isFinished(p.status, p.until)) continue;
        if (p.ideas > 0) notes.push({ slot, runId, kind: 'ideas', ideas: p.ideas });
        notes.push({ slot, runId, kind: 'finished', status: p.status });
      }
      return notes;
    },

    /** Whether a refused reservation would fit now: the run parked on it may go on. */
    async budgetFits(input: { runId: string; exhaustion: Pick<BudgetExhaustion, 'scope' | 'limit' | 'requested'> }) {
      const run = await getRun(db, input.runId);
      if (!run) return false;
      const where =
        input.exhaustion.scope === 'campaign' && run.campaign_id ? { campaignId: run.campaign_id } : { runId: run.id };
      return wouldFit(db, where, input.exhaustion, defaultRunBudget(config));
    },

    /** Takes the analysis, related work and ranked ideas of the paper's first run, paid for once. */
    async adoptIdeas(input: { runId: string; fromRunId: string }): Promise<IdeaRef[]> {
      const [run, from] = await Promise.all([getRun(db, input.runId), getRun(db, input.fromRunId)]);
      if (!run || !from) throw ApplicationFailure.nonRetryable('run not found', ErrorType.NotFound);
      if (!run.task_definition) {
        await patchRun(db, run.id, {
          task_definition: from.task_definition,
          gaps: from.gaps,
          keywords: from.keywords,
          related_work: from.related_work,
          retrieval: from.retrieval,
        });
      }
      const rows = await copyRankedIdeas(db, from.id, run.id);
      if (rows.length === 0) {
        throw ApplicationFailure.nonRetryable(`run ${from.id} has no ranked ideas to adopt`, ErrorType.NotFound);
      }
      return rows.map((r) => ({ id: r.id, title: r.body.title, rank: r.rank! })).sort((a, b) => a.rank - b.rank);
    },

    /**
     * One webhook delivery attempt: HMAC-SHA256 over `timestamp.body` (header x-mlr-signature: t=…,v1=…), the
     * delivery id for receivers to deduplicate on; anything but a 2xx is retried by Temporal with backoff.
     */
    async sendWebhook(req: WebhookRequest): Promise<void> {
      const url = config.MLR_WEBHOOK_URL;
      if (!url || !config.MLR_WEBHOOK_SECRET) return;
      const body = JSON.stringify(await webhookPayload(db, req));
      const t = Math.floor(Date.now() / 1000);
      const v1 = createHmac('sha256', config.MLR_WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex');
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'mlr-copilot-webhooks',
          'x-mlr-event': req.event,
          'x-mlr-delivery': req.id,
          'x-mlr-signature': `t=${t},v1=${v1}`,
        },
        body,
        signal: AbortSignal.timeout(10_000),
        redirect: 'manual',
      });
      await res.body?.cancel();
      if (res.status < 200 || res.status >= 300) {
        throw ApplicationFailure.retryable(`webhook receiver answered ${res.status}`, 'WebhookRejected');
      }
    },
  };
}

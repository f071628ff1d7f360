// What a webhook says: small, built from stored state when it is sent, with links a receiver can follow.
import { getCampaign, runCountsByStatus } from '../db/campaigns';
import { campaignSpend, runSpend } from '../db/ledger';
import { getRun } from '../db/runs';
import type { Queryable } from '../db/types';
import type { WebhookRequest } from '../domain/run-input';

export async function webhookPayload(db: Queryable, req: WebhookRequest): Promise<Record<string, unknown>> {
  const data: Record<string, unknown> = {};
  if (req.runId) {
    const run = await getRun(db, req.runId);
    if (run) {
      data.run = {
        id: run.id,
        status: run.status,
        paperId: run.paper_id,
        campaignId: run.campaign_id,
        error: run.error,
        result: run.result,
        verdict: run.validation?.verdict ?? null,
        spend: await runSpend(db, run.id),
        url: `/v1/runs/${run.id}`,
      };
    }
  }
  if (req.campaignId) {
    const campaign = await getCampaign(db, req.campaignId);
    if (campaign) {
      data.campaign = {
        id: campaign.id,
        name: campaign.name,
        status: campaign.status,
        runs: await runCountsByStatus(db, campaign.id),
        spend: await campaignSpend(db, campaign.id),
        budget: campaign.budget,
        url: `/v1/campaigns/${campaign.id}`,
      };
    }
  }
  return { id: req.id, event: req.event, createdAt: new Date().toISOString(), data };
}

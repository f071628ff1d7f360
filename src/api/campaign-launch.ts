// Creating a campaign (or a benchmark, a campaign over tasks) as both routes do: the cap on runs, one record per
// idempotency key, the per-user cap on active campaigns, then the workflow; when Temporal is down the record stays
// queued and the sweeper starts it.
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { RunGateway } from '../clients/temporal';
import type { Config } from '../config';
import {
  campaignByKey,
  campaignInputOf,
  countActiveCampaigns,
  insertCampaign,
  type CampaignRow,
} from '../db/campaigns';
import { countActiveRuns } from '../db/runs';
import type { Queryable, Transactional } from '../db/types';
import type { Budget } from '../domain/budget';
import { HttpError } from '../errors';
import { CAMPAIGN_FINAL, campaignWorkflowId, subjectCount, type CampaignInput } from '../domain/campaign-input';
import { TERMINAL_STATUSES } from '../domain/run-input';

export interface Launch {
  owner: string;
  name: string;
  /** The request body, hashed: the same key with another body is refused. */
  body: object;
  idempotencyKey: string | undefined;
  input: (id: string) => CampaignInput;
  /** Stored beside the input in the campaign's spec. */
  extras: Record<string, unknown>;
  budget: Budget;
}

export async function launchCampaign(
  deps: { db: Transactional & Queryable; config: Config; gateway: RunGateway; log: FastifyBaseLogger },
  l: Launch,
): Promise<{ campaign: CampaignRow; created: boolean; started: boolean }> {
  const { db, config } = deps;
  const planned = l.input(''); // the input is a pure function of the request: its counts need no id
  if (subjectCount(planned) * planned.runsPerPaper > config.MLR_CAMPAIGN_MAX_RUNS) {
    throw new HttpError(400, 'InvalidRequest', `at most ${config.MLR_CAMPAIGN_MAX_RUNS} runs (MLR_CAMPAIGN_MAX_RUNS)`);
  }
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(l.body).sort(([a], [b]) => a.localeCompare(b))));
  const requestHash = createHash('sha256').update(canonical).digest('hex');
  const replay = l.idempotencyKey ? await campaignByKey(db, l.owner, l.idempotencyKey) : undefined;
  if (
    !replay &&
    (await countActiveCampaigns(db, l.owner, CAMPAIGN_FINAL)) >= config.MLR_MAX_ACTIVE_CAMPAIGNS_PER_USER
  ) {
    throw new HttpError(
      429,
      'TooManyActiveCampaigns',
      `you have ${config.MLR_MAX_ACTIVE_CAMPAIGNS_PER_USER} campaigns in progress (MLR_MAX_ACTIVE_CAMPAIGNS_PER_USER)`,
      { 'retry-after': '60' },
    );
  }
  // The user's runs in progress, their campaigns' included: a new campaign would only add to them.
  if (!replay && (await countActiveRuns(db, l.owner, TERMINAL_STATUSES)) >= config.MLR_MAX_ACTIVE_RUNS_PER_USER) {
    throw new HttpError(
      429,
      'TooManyActiveRuns',
      `you have ${config.MLR_MAX_ACTIVE_RUNS_PER_USER} runs in progress, your campaigns' included ` +
        '(MLR_MAX_ACTIVE_RUNS_PER_USER); wait for some to finish or cancel some',
      { 'retry-after': '60' },
    );
  }
  const id = randomUUID();
  const { campaign, created } = await insertCampaign(db, {
    id,
    owner: l.owner,
    name: l.name,
    workflow_id: campaignWorkflowId(id),
    spec: { ...l.input(id), name: l.name, ...l.extras },
    budget: l.budget,
    request_hash: requestHash,
    idempotencyKey: l.idempotencyKey,
  });
  if (!created && campaign.request_hash !== requestHash) {
    throw new HttpError(409, 'IdempotencyKeyReused', 'this Idempotency-Key was used with a different request body');
  }
  try {
    await deps.gateway.startCampaign(campaignInputOf(campaign));
    return { campaign, created, started: true };
  } catch (err) {
    deps.log.warn({ err, campaignId: campaign.id }, 'could not start the campaign workflow; the sweeper will retry');
    return { campaign, created, started: false };
  }
}

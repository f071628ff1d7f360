// Messages of the campaign workflow; its vocabulary lives in domain/campaign-input.ts (re-exported here). The
// API imports this file, never the workflow.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Budget } from '../domain/budget';
import type { CampaignSnapshot } from '../domain/campaign-input';

export * from '../domain/campaign-input';

export const campaignStateQuery = defineQuery<CampaignSnapshot>('campaignState');
/** Adds to the campaign's budget and wakes its runs parked on it; answers once it is stored. */
export const topUpUpdate = defineUpdate<CampaignSnapshot, [Budget]>('topUp');

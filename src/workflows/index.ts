export { researchRun } from './research-run';
export { researchCampaign } from './research-campaign';
export { webhookDelivery } from './webhook';

// The activities, assembled: one factory per workflow stage, each in its own file. Nothing else lives here.
import { createAgentActivities } from './agent';
import { createCampaignActivities } from './campaign';
import type { ActivityDeps } from './deps';
import { createExperimentActivities } from './experiment';
import { createIdeaActivities } from './ideas';
import { createRecordActivities } from './record';
import { createValidationActivities } from './validation';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createRecordActivities(deps),
    ...createIdeaActivities(deps),
    ...createExperimentActivities(deps),
    ...createValidationActivities(deps),
    ...createAgentActivities(deps),
    ...createCampaignActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

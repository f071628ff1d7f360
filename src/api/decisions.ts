// A person's decision on a run waiting for approval, as the run route and the inbox's bulk route both
// apply it: checked here, carried out by the workflow's update (idempotent by request id).
import { randomUUID } from 'node:crypto';
import type { RunGateway } from '../clients/temporal';
import type { RunRow } from '../db/runs';
import { HttpError } from '../errors';
import type { Decision } from '../domain/run-input';
import { validHubId } from '../domain/hub';
import { setIdeaHub } from '../db/ideas';
import type { Queryable } from '../db/types';

export async function applyDecision(
  gateway: RunGateway,
  db: Queryable,
  run: RunRow,
  decision: Decision,
  idempotencyKey?: string,
): Promise<void> {
  if (decision.decision === 'revise' && !decision.feedback)
    throw new HttpError(400, 'InvalidDecision', 'body/feedback is required to revise');
  if (run.status !== 'awaiting_approval')
    throw new HttpError(409, 'NotAwaitingApproval', `run is ${run.status}, not awaiting approval`);
  if (decision.hub) {
    if (decision.decision !== 'approve' || !decision.ideaId)
      throw new HttpError(400, 'InvalidDecision', 'body/hub goes with an approval that names its ideaId');
    const bad = decision.hub.find((h) => !validHubId(h.id));
    if (bad)
      throw new HttpError(400, 'InvalidDecision', `body/hub: ${JSON.stringify(bad.id)} is not a Hub repository id`);
    // The person's list replaces the idea's before the workflow hears of the approval, so it is what is retrieved.
    if (!(await setIdeaHub(db, run.id, decision.ideaId, decision.hub)))
      throw new HttpError(400, 'InvalidDecision', `idea ${decision.ideaId} is not one of this run's ideas`);
  }
  // Update ids are scoped to the run (and so to its owner): a key cannot name another run's decision.
  await gateway.decide(run.workflow_id, decision, `${run.id}:${idempotencyKey ?? randomUUID()}`);
}

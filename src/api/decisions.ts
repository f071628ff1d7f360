// A person's decision on a run waiting for approval, as the run route and the inbox's bulk route both
// apply it: checked here, carried out by the workflow's update (idempotent by request id).
import { randomUUID } from 'node:crypto';
import type { RunGateway } from '../clients/temporal';
import type { RunRow } from '../db/runs';
import { HttpError } from '../errors';
import type { Decision } from '../domain/run-input';

export async function applyDecision(
  gateway: RunGateway,
  run: RunRow,
  decision: Decision,
  idempotencyKey?: string,
): Promise<void> {
  if (decision.decision === 'revise' && !decision.feedback)
    throw new HttpError(400, 'InvalidDecision', 'body/feedback is required to revise');
  if (run.status !== 'awaiting_approval')
    throw new HttpError(409, 'NotAwaitingApproval', `run is ${run.status}, not awaiting approval`);
  // Update ids are scoped to the run (and so to its owner): a key cannot name another run's decision.
  await gateway.decide(run.workflow_id, decision, `${run.id}:${idempotencyKey ?? randomUUID()}`);
}

import { ParentClosePolicy, log, proxyActivities, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';

export type { WebhookEvent, WebhookRequest } from './definitions';
import type { WebhookRequest } from './definitions';

/**
 * One webhook delivery: an activity retried with exponential backoff, in a workflow of its own so the run or
 * campaign that raised it neither waits for a slow receiver nor loses the delivery when it finishes first.
 */
export async function webhookDelivery(req: WebhookRequest, maxAttempts: number): Promise<void> {
  const { sendWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10m', maximumAttempts: maxAttempts },
  });
  try {
    await sendWebhook(req);
  } catch (err) {
    log.warn('webhook not delivered', { id: req.id, event: req.event, error: (err as Error).message });
  }
}

/** Starts the delivery of one event (idempotent by id); `maxAttempts` 0 means webhooks are off. */
export async function emitWebhook(maxAttempts: number | undefined, req: WebhookRequest): Promise<void> {
  if (!maxAttempts) return;
  try {
    await startChild(webhookDelivery, {
      workflowId: `webhook-${req.id}`,
      args: [req, maxAttempts],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

// No run left behind: a run whose workflow could not be started (Temporal down at POST /v1/runs, or the
// API killed between the insert and the start) stays `queued` with its input stored; this starts it.
// Starting is idempotent (USE_EXISTING), so several API replicas may sweep at once.
import type { RunGateway } from '../clients/temporal';
import { campaignInputOf, unstartedCampaigns } from '../db/campaigns';
import { staleQueuedRuns } from '../db/runs';
import type { Queryable } from '../db/types';
import type { Logger } from '../logger';

/** A queued run younger than this is still being started by the request that made it. */
export const SWEEP_GRACE_MS = 10_000;

export async function sweepQueuedRuns(
  db: Queryable,
  gateway: RunGateway,
  logger?: Logger,
  graceMs = SWEEP_GRACE_MS,
): Promise<number> {
  let started = 0;
  for (const run of await staleQueuedRuns(db, graceMs)) {
    if (!run.input) continue; // made before inputs were stored; its request started it
    try {
      await gateway.start(run.input);
      started++;
    } catch (err) {
      logger?.warn({ err, runId: run.id }, 'queued run still cannot be started');
      break; // Temporal is still unreachable: try again next sweep
    }
  }
  for (const c of await unstartedCampaigns(db, graceMs)) {
    try {
      await gateway.startCampaign(campaignInputOf(c));
      started++;
    } catch (err) {
      logger?.warn({ err, campaignId: c.id }, 'campaign still cannot be started');
      break;
    }
  }
  return started;
}

export function startSweeper(db: Queryable, gateway: RunGateway, intervalMs: number, logger?: Logger): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepQueuedRuns(db, gateway, logger)
      .catch((err) => logger?.warn({ err }, 'sweep failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

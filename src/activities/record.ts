// A run's record as the workflow moves it: its status (with its events and its campaign's progress, in one
// statement) and the events it notes along the way. Local activities: no task queue round trip.
import { appendEvent, type RunEventType } from '../db/events';
import { recordStatusChange } from '../db/runs';
import type { Decision, RunStatus } from '../domain/run-input';
import type { ActivityDeps } from './deps';

export function createRecordActivities({ db }: Pick<ActivityDeps, 'db'>) {
  return {
    async recordStatus(input: {
      runId: string;
      status: RunStatus;
      round: number;
      selectedIdeaId?: string;
      error?: string;
      errorType?: string;
      decision?: Decision;
    }): Promise<void> {
      await recordStatusChange(db, input.runId, {
        status: input.status,
        round: input.round,
        selectedIdeaId: input.selectedIdeaId ?? null,
        error: input.error ?? null,
        errorType: input.errorType ?? null,
        events: [
          { type: 'status', data: { status: input.status, round: input.round, error: input.error } },
          ...(input.decision ? [{ type: 'decision' as const, data: { ...input.decision } }] : []),
        ],
        progress: { status: input.status, error: input.error },
      });
    },

    async recordEvent(input: { runId: string; type: RunEventType; data: Record<string, unknown> }): Promise<void> {
      await appendEvent(db, input.runId, input.type, input.data);
    },

    /** Task definition, gaps and keywords; stored in the run. Returns only small things for history. */
  };
}

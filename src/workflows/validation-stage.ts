import type { Activities } from '../activities';
import type { ActivityInterfaceFor } from '@temporalio/workflow';
import type { RunInput } from './definitions';

/**
 * Re-runs baseline and candidate over K seeds (1..K), at most `parallelism` executions at a time, then
 * computes the statistics and writes the report.
 */
export async function validationStage(input: RunInput, acts: ActivityInterfaceFor<Activities>): Promise<void> {
  const { runId } = input;
  const seeds = Array.from({ length: input.validation.seeds }, (_, i) => i + 1);
  const jobs = seeds.flatMap((seed) => (['baseline', 'candidate'] as const).map((role) => ({ role, seed })));
  const executions: Array<{ role: 'baseline' | 'candidate'; seed: number; id: string }> = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const { id } = await acts.runValidationExecution({ runId, ...job });
      executions.push({ ...job, id });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.validation.parallelism) }, lane));
  executions.sort((a, b) => a.seed - b.seed || a.role.localeCompare(b.role));
  await acts.finalizeValidation({ runId, seeds, executions });
  await acts.writeReport({ runId });
}

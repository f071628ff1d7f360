// The floor for orchestration benchmarks: a workflow that runs n no-op activities one after another.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '30s' });

export async function noopLoop(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await noop();
}

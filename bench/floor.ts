// The floor the orchestration benchmarks are measured against, in the same run: one no-op Temporal activity
// round trip on the stack's own Temporal server.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

/** Milliseconds per no-op activity round trip: a bench worker runs a workflow of n of them. */
export async function noopRoundTrip(address: string, n: number): Promise<number> {
  const connection = await NativeConnection.connect({ address });
  const taskQueue = `bench-noop-${Date.now()}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./noop-workflow'),
    activities: { noop: async () => undefined },
  });
  const client = new Client({ connection: await Connection.connect({ address }) });
  try {
    return await worker.runUntil(async () => {
      await client.workflow.execute('noopLoop', { taskQueue, workflowId: `${taskQueue}-warm`, args: [3] });
      const t0 = performance.now();
      await client.workflow.execute('noopLoop', { taskQueue, workflowId: taskQueue, args: [n] });
      return (performance.now() - t0) / n;
    });
  } finally {
    await client.connection.close();
    await connection.close();
  }
}

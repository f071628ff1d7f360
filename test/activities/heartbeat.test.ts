// Who cancelled an activity decides what an execution's end records: only the workflow's own cancel (a cancelled
// run) is `cancelled`; an attempt that timed out, lost its workflow or whose worker leaves records nothing, so the
// live attempt runs the execution again instead of finding it cancelled.
import { ActivityCancellationDetails } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { abortModeOfActivity, cancelledByWorkflow } from '../../src/activities/heartbeat';

/** What the helpers answer inside an activity cancelled for `details`. */
async function inActivityCancelledFor(details: ConstructorParameters<typeof ActivityCancellationDetails>[0]) {
  const env = new MockActivityEnvironment();
  return env.run(async () => {
    const cancelled = new Promise<void>((resolve) =>
      Context.current().cancellationSignal.addEventListener('abort', () => resolve()),
    );
    env.cancel(undefined, new ActivityCancellationDetails(details));
    await cancelled;
    return { byWorkflow: cancelledByWorkflow(), mode: abortModeOfActivity() };
  });
}

it.each([
  [{ cancelRequested: true }, true, 'cancel'],
  [{ timedOut: true }, false, 'detach'],
  [{ notFound: true }, false, 'cancel'],
  [{ workerShutdown: true }, false, 'detach'],
])('cancelled for %j: by the workflow %s, remote executions %s', async (details, byWorkflow, mode) => {
  expect(await inActivityCancelledFor(details)).toEqual({ byWorkflow, mode });
});

it("treats a cancel outside an activity (plain unit tests) as the caller's own", () => {
  expect(cancelledByWorkflow()).toBe(true);
});

import { loadClientConnectConfig } from '@temporalio/envconfig';
import {
  Client,
  Connection,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import type { NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from '../config';
import { ErrorType, HttpError } from '../errors';
import type { Budget } from '../domain/budget';
import {
  campaignWorkflowId,
  topUpUpdate,
  type CampaignInput,
  type CampaignSnapshot,
} from '../workflows/campaign-definitions';
import {
  approvalUpdate,
  budgetSignal,
  feedbackSignal,
  pauseSignal,
  resumeSignal,
  stateQuery,
  workflowIdFor,
  type Decision,
  type RunInput,
  type RunSnapshot,
} from '../workflows/definitions';

/**
 * Connection options from @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS*, profiles), with the address of an embedded dev server when one was started.
 */
export function temporalConnectConfig(config: Config, env: NodeJS.ProcessEnv, embeddedAddress?: string) {
  const overrides = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: overrides });
  const options: NativeConnectionOptions = {
    ...connectionOptions,
    address: embeddedAddress ?? config.TEMPORAL_ADDRESS ?? connectionOptions.address,
  };
  return { connectionOptions: options, namespace: namespace ?? config.TEMPORAL_NAMESPACE };
}

/** What the API needs from Temporal; tests of routes can pass a fake. */
export interface RunGateway {
  start(input: RunInput): Promise<void>;
  decide(workflowId: string, decision: Decision, requestId: string): Promise<RunSnapshot>;
  cancel(workflowId: string): Promise<void>;
  state(workflowId: string): Promise<RunSnapshot>;
  signal(workflowId: string, name: 'feedback' | 'pause' | 'resume' | 'budget', text?: string): Promise<void>;
  ping(): Promise<{ workerPolling: boolean }>;
  startCampaign(input: CampaignInput): Promise<void>;
  /** The campaign's top-up update: answers once the new budget is stored and parked runs are woken. */
  topUpCampaign(workflowId: string, add: Budget, requestId: string): Promise<CampaignSnapshot>;
}

const UPDATE_DEADLINE_MS = 15_000;

export function createRunGateway(client: Client, taskQueue: string): RunGateway {
  const mapError = (err: unknown): never => {
    if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'NotFound', 'the run has no workflow');
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const type = err.cause.type;
      const status = type === ErrorType.IdeaNotFound || type === ErrorType.InvalidDecision ? 422 : 409;
      throw new HttpError(status, type ?? 'Conflict', err.cause.message);
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      throw new HttpError(503, 'WorkerUnavailable', 'no worker answered in time; retry shortly', {
        'retry-after': '5',
      });
    }
    throw err;
  };
  /** An update with a deadline: a worker that does not answer in time is a 503 the caller may retry. */
  const update = <R, A>(workflowId: string, def: UpdateDefinition<R, [A]>, arg: A, updateId: string): Promise<R> =>
    client
      .withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
        client.workflow.getHandle(workflowId).executeUpdate(def, { args: [arg], updateId }),
      )
      .catch(mapError);
  return {
    async start(input) {
      await client.workflow.start('researchRun', {
        taskQueue,
        workflowId: workflowIdFor(input.runId),
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    },
    decide: (workflowId, decision, requestId) => update(workflowId, approvalUpdate, decision, requestId),
    async cancel(workflowId) {
      await client.workflow.getHandle(workflowId).cancel().catch(mapError);
    },
    async state(workflowId) {
      return client.workflow.getHandle(workflowId).query(stateQuery).catch(mapError);
    },
    async signal(workflowId, name, text) {
      const handle = client.workflow.getHandle(workflowId);
      if (name === 'feedback') await handle.signal(feedbackSignal, text ?? '').catch(mapError);
      else if (name === 'budget') await handle.signal(budgetSignal).catch(mapError);
      else await handle.signal(name === 'pause' ? pauseSignal : resumeSignal).catch(mapError);
    },
    async startCampaign(input) {
      await client.workflow.start('researchCampaign', {
        taskQueue,
        workflowId: campaignWorkflowId(input.campaignId),
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    },
    topUpCampaign: (workflowId, add, requestId) => update(workflowId, topUpUpdate, add, requestId),
    async ping() {
      const res = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
      });
      const fresh = Date.now() - 120_000;
      const workerPolling = (res.pollers ?? []).some((p) => {
        const t = p.lastAccessTime?.seconds;
        return t !== undefined && t !== null && Number(t) * 1000 > fresh;
      });
      return { workerPolling };
    },
  };
}

export async function connectClient(config: Config, env: NodeJS.ProcessEnv, embeddedAddress?: string): Promise<Client> {
  const { connectionOptions, namespace } = temporalConnectConfig(config, env, embeddedAddress);
  const connection = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace });
}

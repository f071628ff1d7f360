// The one place a failed model call is recorded, for structured calls and agent steps alike: the error,
// its latency, and no tokens (the endpoint answered nothing it charges for).
import { insertLlmCall, type LlmCallRecord } from '../db/llm-calls';
import type { Queryable } from '../db/types';

export type CallBase = Pick<LlmCallRecord, 'runId' | 'role' | 'model' | 'callKey' | 'requestHash'>;

export async function recordFailedCall(db: Queryable, base: CallBase, started: number, err: unknown): Promise<string> {
  const error = (err as Error)?.message ?? String(err);
  await insertLlmCall(db, {
    ...base,
    status: 'error',
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0,
    latencyMs: Date.now() - started,
    error,
  });
  return error;
}

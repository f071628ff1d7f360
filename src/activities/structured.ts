import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { ChatMessage, ChatModel } from '../clients/llm';
import { modelFor, type Config, type ModelRole } from '../config';
import { appendEvent } from '../db/events';
import { findAnsweredCall, insertLlmCall } from '../db/llm-calls';
import type { Transactional } from '../db/types';
import { ErrorType } from '../errors';
import { reaskMessage } from './prompts';
import { toStrictJsonSchema } from '../domain/schemas';
import { costUsd, createMeter } from './ledger';
import { recordFailedCall } from './model-calls';

export interface StructuredDeps {
  db: Transactional;
  model: ChatModel;
  config: Config;
}

export interface StructuredCall<T> {
  runId: string;
  role: ModelRole;
  /** Names the step (e.g. "ideate:2"), so a retried activity reuses answers it already paid for. */
  callKey: string;
  name: string;
  schema: z.ZodType<T>;
  messages: ChatMessage[];
  /** Checks the schema cannot express; returns a problem to re-ask about. */
  check?: (value: T) => string | undefined;
  /** Deterministic repair of a valid but inconsistent answer; what it changed is recorded, not fatal. */
  repair?: (value: T) => { value: T; repairs: string[] };
  signal?: AbortSignal;
}

function parse<T>(content: string, call: StructuredCall<T>): { value?: T; problem?: string } {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    return { problem: 'the reply is not JSON' };
  }
  const result = call.schema.safeParse(json);
  if (!result.success) {
    const first = result.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { problem: `schema violations: ${first.join('; ')}` };
  }
  const problem = call.check?.(result.data);
  return problem ? { problem } : { value: result.data };
}

/**
 * One structured model call: strict JSON schema, validation, and a bounded number of re-asks. Every
 * attempt is recorded in llm_calls with its tokens, cost and latency; provider errors propagate as
 * the adapter mapped them, so Temporal decides about retries.
 */
export async function structuredCall<T>(deps: StructuredDeps, call: StructuredCall<T>): Promise<T> {
  const model = modelFor(deps.config, call.role);
  if (!model)
    throw ApplicationFailure.nonRetryable(`no model configured for role ${call.role}`, ErrorType.ModelNotConfigured);
  const jsonSchema = { name: call.name, schema: toStrictJsonSchema(call.schema) };
  const messages = [...call.messages];
  let lastProblem = '';
  for (let attempt = 0; attempt <= deps.config.MLR_LLM_REASK; attempt++) {
    const requestHash = createHash('sha256').update(JSON.stringify({ model, messages, jsonSchema })).digest('hex');
    const cached = await findAnsweredCall(deps.db, call.runId, call.callKey);
    if (cached !== undefined) {
      const { value } = parse(cached, call);
      if (value !== undefined) return call.repair ? call.repair(value).value : value;
    }
    const base = { runId: call.runId, role: call.role, model, callKey: call.callKey, requestHash };
    const started = Date.now();
    let res;
    try {
      res = await createMeter(deps).modelCall({ runId: call.runId, stage: call.role, model, prompt: messages }, () =>
        deps.model.complete({ model, messages, jsonSchema }, call.signal),
      );
    } catch (err) {
      const error = await recordFailedCall(deps.db, base, started, err);
      await appendEvent(deps.db, call.runId, 'llm_call', { role: call.role, model, status: 'error', error });
      throw err;
    }
    const latencyMs = Date.now() - started;
    const parsed = parse(res.content, call);
    // A reply cut at max_tokens says so: "not JSON" alone would hide that the answer was simply too long.
    const problem =
      parsed.problem && res.truncated
        ? `the reply was cut off at ${deps.config.MLR_MODEL_RESERVE_TOKENS} tokens (MLR_MODEL_RESERVE_TOKENS); ` +
          `answer more briefly (${parsed.problem})`
        : parsed.problem;
    const repaired = parsed.value !== undefined && call.repair ? call.repair(parsed.value) : undefined;
    const value = repaired ? repaired.value : parsed.value;
    const repair = repaired?.repairs.length ? repaired.repairs.join('; ') : undefined;
    const usage = {
      promptTokens: res.promptTokens,
      completionTokens: res.completionTokens,
      costUsd: costUsd(deps.config.MLR_MODEL_PRICES, model, res.promptTokens, res.completionTokens),
    };
    const status = value !== undefined ? 'ok' : 'invalid';
    await insertLlmCall(
      deps.db,
      {
        ...base,
        status,
        ...usage,
        latencyMs,
        completion: res.content,
        error: problem,
        usageEstimated: res.usageEstimated,
        repair,
        mode: res.mode,
      },
      {
        role: call.role,
        model,
        mode: res.mode,
        status,
        latencyMs,
        ...usage,
        problem,
        usageEstimated: res.usageEstimated || undefined,
      },
    );
    if (repair)
      await appendEvent(deps.db, call.runId, 'repair', {
        role: call.role,
        call: call.callKey,
        repairs: repaired!.repairs,
      });
    if (value !== undefined) return value;
    lastProblem = problem!;
    messages.push({ role: 'assistant', content: res.content.slice(0, 20_000) }, reaskMessage(lastProblem));
  }
  throw ApplicationFailure.nonRetryable(
    `the ${call.role} model gave invalid output ${deps.config.MLR_LLM_REASK + 1} times; last problem: ${lastProblem}`,
    ErrorType.LlmInvalidOutput,
  );
}

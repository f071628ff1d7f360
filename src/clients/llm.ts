import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { ErrorType } from '../errors';
import type { CircuitBreaker } from './breaker';
import type { ModeRegistry, StructuredMode } from '../domain/model-modes';
import { createModeResolver } from './mode-detection';
import { actionOf, actionSchema, replyJson, structuredFields } from './structured-modes';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** A strict JSON schema the reply must follow. */
  jsonSchema: { name: string; schema: Record<string, unknown> };
}

export interface ChatResponse {
  content: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** The endpoint sent no usage; the counts are estimates (see estimateTokens), never 0. */
  usageEstimated?: boolean;
  /** How the endpoint was asked (recorded with the call). */
  mode?: StructuredMode;
  /** The reply stopped at max_tokens (finish_reason "length"): a structured answer is then usually cut JSON. */
  truncated?: boolean;
}

/**
 * A deliberately high token estimate for endpoints that omit `usage` (some local servers do): one token
 * per 3 UTF-8 bytes, where BPE tokenisers average about 4 for English. Budgets then err on the safe side.
 */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(text) / 3));
}

function usageOf(
  res: { usage?: { prompt_tokens?: number; completion_tokens?: number } | null },
  request: unknown,
  reply: string,
) {
  const prompt = res.usage?.prompt_tokens;
  const completion = res.usage?.completion_tokens;
  if (typeof prompt === 'number' && typeof completion === 'number' && prompt + completion > 0) {
    return { promptTokens: prompt, completionTokens: completion };
  }
  return {
    promptTokens: estimateTokens(JSON.stringify(request)),
    completionTokens: estimateTokens(reply),
    usageEstimated: true,
  };
}

export interface ToolCall {
  id: string;
  name: string;
  /** The raw JSON arguments as the model wrote them. */
  arguments: string;
}

/** A conversation with tool calls, in the shape Chat Completions uses. */
export type AgentMessage =
  | ChatMessage
  | { role: 'assistant'; content: string | null; toolCall: ToolCall }
  | { role: 'tool'; toolCallId: string; content: string };

export interface ToolRequest {
  model: string;
  messages: AgentMessage[];
  tools: Array<{ name: string; description: string; parameters: Record<string, unknown> }>;
}

export interface ToolResponse extends ChatResponse {
  toolCall?: ToolCall;
}

/** The methods the agents need from a model; tests pass any object that has them. */
export interface ChatModel {
  complete(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse>;
  /** One agent step: the model must call one of the tools. */
  act(request: ToolRequest, signal?: AbortSignal): Promise<ToolResponse>;
}

function toOpenAiMessage(m: AgentMessage): OpenAI.Chat.ChatCompletionMessageParam {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  if (m.role === 'assistant' && 'toolCall' in m) {
    return {
      role: 'assistant',
      content: m.content,
      tool_calls: [
        { id: m.toolCall.id, type: 'function', function: { name: m.toolCall.name, arguments: m.toolCall.arguments } },
      ],
    };
  }
  return m;
}

const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Milliseconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  const delay = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(raw) - now;
  return Number.isFinite(delay) && delay > 0 ? Math.min(delay, MAX_RETRY_AFTER_MS) : undefined;
}

/**
 * Maps provider errors to the failure catalog here, at the adapter, so that Temporal owns every retry:
 * 4xx (except 429) never retries, 429 retries after the server's `retry-after`, 5xx and network retry.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof OpenAI.APIUserAbortError) return err;
  if (err instanceof OpenAI.APIConnectionError) {
    return ApplicationFailure.create({
      message: `model endpoint unreachable: ${err.message}`,
      type: ErrorType.LlmUnavailable,
    });
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    const message = `model endpoint answered ${status}: ${err.message}`;
    if (status === 429) {
      const delay = retryAfterMs(err.headers);
      return ApplicationFailure.create({ message, type: ErrorType.LlmUnavailable, nextRetryDelay: delay });
    }
    if (status >= 400 && status < 500) return ApplicationFailure.nonRetryable(message, ErrorType.LlmRejected);
    return ApplicationFailure.create({ message, type: ErrorType.LlmUnavailable });
  }
  return err;
}

/** How structured calls are asked of the endpoint: a fixed mode, or detected once per endpoint and model. */
export type ModeSetting = 'auto' | StructuredMode;

export interface OpenAiChatModelOptions {
  maxTokens: number;
  /** MLR_LLM_STRUCTURED; `auto` (the default) detects. */
  structured?: ModeSetting;
  /** Names the endpoint in the detection record (its base URL). */
  endpoint?: string;
  /** Where detections are shared between workers (Postgres in the service). */
  registry?: ModeRegistry;
}

function toPlainMessages(messages: AgentMessage[]): ChatMessage[] {
  // Without native tool calls the history is told as text: the step as the JSON the model wrote, the
  // observation as the user's next message.
  return messages.map((m): ChatMessage => {
    if (m.role === 'tool') return { role: 'user', content: `Observation:\n${m.content}` };
    if (m.role === 'assistant' && 'toolCall' in m) {
      const step = { thought: m.content ?? undefined, tool: m.toolCall.name, args: JSON.parse(m.toolCall.arguments) };
      return { role: 'assistant', content: JSON.stringify(step) };
    }
    return m;
  });
}

/**
 * A ChatModel over Chat Completions. The client must be built with maxRetries: 0. Structured calls use the mode
 * the endpoint supports (see structured-modes.ts and mode-detection.ts); agent steps use native tool calls where
 * the endpoint takes strict schemas, and otherwise ask for the step as a structured answer. Every call sends
 * `max_tokens`, the reply size the ledger reserved for it (MLR_MODEL_RESERVE_TOKENS): a reply can never cost more
 * than was reserved, whatever the model or a prompt injection asks for.
 */
export function createOpenAiChatModel(client: OpenAI, opts: OpenAiChatModelOptions): ChatModel {
  const max_tokens = opts.maxTokens;
  const modeFor = createModeResolver({
    client,
    setting: opts.structured ?? 'auto',
    endpoint: opts.endpoint ?? client.baseURL,
    registry: opts.registry,
  });
  async function structured(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const mode = await modeFor(request.model, signal);
    try {
      const fields = structuredFields(mode, request.jsonSchema, request.messages);
      const res = await client.chat.completions.create(
        { model: request.model, max_tokens, ...fields } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
        { signal },
      );
      const content = replyJson(mode, res.choices[0]?.message);
      const truncated = res.choices[0]?.finish_reason === 'length' || undefined;
      return { content, model: res.model || request.model, mode, truncated, ...usageOf(res, fields, content) };
    } catch (err) {
      throw toFailure(err);
    }
  }
  return {
    complete: structured,
    async act(request, signal) {
      const mode = await modeFor(request.model, signal);
      if (mode !== 'json_schema') {
        const res = await structured(
          {
            model: request.model,
            messages: toPlainMessages(request.messages),
            jsonSchema: actionSchema(request.tools),
          },
          signal,
        );
        const action = actionOf(res.content, request.tools);
        const toolCall = action && { id: `call_${randomUUID()}`, name: action.name, arguments: action.arguments };
        return { ...res, content: action?.thought ?? (action ? '' : res.content), toolCall };
      }
      try {
        const res = await client.chat.completions.create(
          {
            model: request.model,
            messages: request.messages.map(toOpenAiMessage),
            tools: request.tools.map((t) => ({
              type: 'function' as const,
              function: { name: t.name, description: t.description, parameters: t.parameters, strict: true },
            })),
            tool_choice: 'required',
            parallel_tool_calls: false,
            max_tokens,
          },
          { signal },
        );
        const message = res.choices[0]?.message;
        const call = message?.tool_calls?.find((c) => c.type === 'function');
        const toolCall =
          call && call.type === 'function'
            ? { id: call.id, name: call.function.name, arguments: call.function.arguments }
            : undefined;
        return {
          content: message?.content ?? '',
          toolCall,
          model: res.model || request.model,
          mode: 'tools',
          ...usageOf(res, request, (message?.content ?? '') + (toolCall ? toolCall.name + toolCall.arguments : '')),
        };
      } catch (err) {
        throw toFailure(err);
      }
    },
  };
}

/**
 * The model endpoint behind a circuit breaker: after repeated outages (LlmUnavailable: 5xx, 429, network) every
 * call is refused at once, retryable after the cool-down, so a provider that is down costs each run one cheap
 * refusal per Temporal retry instead of a request that waits for its timeout.
 */
export function withBreaker(model: ChatModel, breaker: CircuitBreaker, now: () => number = Date.now): ChatModel {
  async function guarded<R>(call: () => Promise<R>, signal?: AbortSignal): Promise<R> {
    const refused = breaker.refusal();
    if (refused) {
      throw ApplicationFailure.create({
        type: ErrorType.LlmUnavailable,
        message: `model endpoint unavailable: ${refused.reason}`,
        nextRetryDelay: Math.max(1000, refused.retryAt - now()),
      });
    }
    try {
      const result = await call();
      breaker.success();
      return result;
    } catch (err) {
      if (signal?.aborted) breaker.abandon();
      else if (err instanceof ApplicationFailure && err.type === ErrorType.LlmUnavailable) breaker.failure(err.message);
      else breaker.success(); // it answered (a 4xx is the request's fault, not an outage)
      throw err;
    }
  }
  return {
    complete: (request, signal) => guarded(() => model.complete(request, signal), signal),
    act: (request, signal) => guarded(() => model.act(request, signal), signal),
  };
}

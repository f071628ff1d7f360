// How one structured call is asked of an endpoint in each of the four ways servers support, and how its answer
// is read back. Pure: the request fields and the reply's JSON text, table-tested without a server.
//
// Servers differ (see docs/models-and-hub.md): OpenAI and vLLM take `json_schema`; llama.cpp's server refuses it
// with a 500 but takes `json_object` with a `schema` (a grammar: the shape holds, the bounds do not); some take
// only a *named* tool choice; a base model behind a bare server only has the prompt. The caller validates every
// answer whatever the mode, so a mode only decides how likely the first answer is usable.

import type { StructuredMode } from '../domain/model-modes';

export interface JsonSchemaSpec {
  name: string;
  schema: Record<string, unknown>;
}

export interface PlainMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The Chat Completions fields a structured call adds in a mode (messages included: prompt mode extends them). */
export interface StructuredFields {
  messages: PlainMessage[];
  response_format?: Record<string, unknown>;
  tools?: Array<Record<string, unknown>>;
  tool_choice?: Record<string, unknown>;
}

/** The instruction prompt mode adds; it names the schema, so logs (and the test's stand-in) can tell calls apart. */
export function promptInstruction(spec: JsonSchemaSpec): string {
  return (
    `Answer with one JSON object and nothing else (no prose, no code fence). It must follow the JSON schema ` +
    `"${spec.name}":\n${JSON.stringify(spec.schema)}`
  );
}

/** Keywords a grammar-constrained server expands into rules (or cannot parse); the caller validates them instead. */
const GRAMMAR_UNSAFE = new Set(['maxLength', 'minLength', 'pattern', 'format']);

/**
 * The schema without string bounds and patterns, for servers that compile it into a grammar. llama.cpp's server
 * expands `maxLength: 2000` into 2000 nested optional rules, fails to parse the grammar and crashes (seen here:
 * exit 139 on the paper-analysis schema). The answer is validated against the full schema either way.
 */
export function grammarSafe(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(grammarSafe);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    // Under `properties` the keys are field names, which may be called anything (even "pattern").
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, grammarSafe(v)]));
    } else if (!GRAMMAR_UNSAFE.has(key)) out[key] = grammarSafe(value);
  }
  return out;
}

export function structuredFields(
  mode: StructuredMode,
  spec: JsonSchemaSpec,
  messages: PlainMessage[],
): StructuredFields {
  switch (mode) {
    case 'json_schema':
      return {
        messages,
        response_format: { type: 'json_schema', json_schema: { name: spec.name, strict: true, schema: spec.schema } },
      };
    case 'json_object':
      // llama.cpp's server turns `schema` into a grammar; `title` carries the name (JSON Schema allows it).
      return {
        messages,
        response_format: { type: 'json_object', schema: { title: spec.name, ...(grammarSafe(spec.schema) as object) } },
      };
    case 'tools':
      // A named tool choice: servers that ignore `tool_choice: "required"` still honour a named one.
      return {
        messages,
        tools: [
          {
            type: 'function',
            function: { name: spec.name, description: 'Give the answer.', parameters: grammarSafe(spec.schema) },
          },
        ],
        tool_choice: { type: 'function', function: { name: spec.name } },
      };
    case 'prompt':
      return { messages: [...messages, { role: 'system', content: promptInstruction(spec) }] };
  }
}

interface ReplyMessage {
  content?: string | null;
  tool_calls?: ReadonlyArray<{ type?: string; function?: { name?: string; arguments?: string } }>;
}

/**
 * The JSON text of an answer in a mode. In prompt mode the model may wrap it in prose or a code fence: the text
 * from the first `{` to the last `}` (two index scans, linear in the reply), which the caller then parses.
 */
export function replyJson(mode: StructuredMode, message: ReplyMessage | undefined): string {
  if (mode === 'tools') {
    const call = message?.tool_calls?.find((c) => c.function?.arguments !== undefined);
    return call?.function?.arguments ?? '';
  }
  const content = message?.content ?? '';
  if (mode !== 'prompt') return content;
  const start = content.indexOf('{');
  const end = content.lastIndexOf('}');
  return start >= 0 && end > start ? content.slice(start, end + 1) : content;
}

/** The tiny schema the detection asks each mode to follow. */
export const PROBE_SCHEMA: JsonSchemaSpec = {
  name: 'mode_probe',
  schema: {
    type: 'object',
    properties: { ok: { type: 'boolean' } },
    required: ['ok'],
    additionalProperties: false,
  },
};

/** Whether a probe's answer shows the mode works: JSON of the probe's shape came back. */
export function probeAnswered(mode: StructuredMode, message: ReplyMessage | undefined): boolean {
  try {
    const value = JSON.parse(replyJson(mode, message)) as unknown;
    return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
  } catch {
    return false;
  }
}

export interface AgentTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/**
 * One agent step as a structured answer, for endpoints without a forced tool call: the tool's name and its
 * arguments, one alternative per tool, plus an optional thought.
 */
export function actionSchema(tools: AgentTool[]): JsonSchemaSpec {
  return {
    name: 'agent_action',
    schema: {
      anyOf: tools.map((t) => ({
        type: 'object',
        description: t.description.slice(0, 300),
        properties: { thought: { type: 'string' }, tool: { type: 'string', enum: [t.name] }, args: t.parameters },
        required: ['tool', 'args'],
        additionalProperties: false,
      })),
    },
  };
}

/** The tool call in an `agent_action` answer, or undefined when the answer names no offered tool. */
export function actionOf(
  json: string,
  tools: AgentTool[],
): { name: string; arguments: string; thought?: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { tool, args, thought } = value as { tool?: unknown; args?: unknown; thought?: unknown };
  if (typeof tool !== 'string' || !tools.some((t) => t.name === tool)) return undefined;
  return {
    name: tool,
    arguments: JSON.stringify(args ?? {}),
    ...(typeof thought === 'string' && thought.trim() ? { thought } : {}),
  };
}

// The adapter finds what an endpoint supports, once, and asks every call that way: against the stand-in server,
// as the OpenAI API answers and as llama-cpp-python's server does (json_schema refused, "required" ignored).
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { createOpenAiChatModel } from '../../src/clients/llm';
import { detectMode } from '../../src/clients/mode-detection';
import type { ModeRegistry, ProbeResult, StructuredMode } from '../../src/domain/model-modes';
import { startFakeModel, type FakeModel } from '../support/fake-model';

let openaiLike: FakeModel;
let llama: FakeModel;
beforeAll(async () => {
  [openaiLike, llama] = await Promise.all([startFakeModel(), startFakeModel({ server: 'llama-cpp' })]);
});
afterAll(async () => {
  await Promise.all([openaiLike.close(), llama.close()]);
});

const client = (fake: FakeModel | string) =>
  new OpenAI({ apiKey: 'k', baseURL: typeof fake === 'string' ? fake : fake.baseUrl, maxRetries: 0 });

/** The registry's contract in memory (the Postgres one is tested in test/db/model-endpoints.test.ts). */
function memoryRegistry(): ModeRegistry & { rows: Map<string, { mode: StructuredMode; probes: ProbeResult[] }> } {
  const rows = new Map<string, { mode: StructuredMode; probes: ProbeResult[] }>();
  return {
    rows,
    get: async (endpoint, model) => rows.get(`${endpoint} ${model}`)?.mode,
    put: async (endpoint, model, mode, probes) => {
      rows.set(`${endpoint} ${model}`, { mode, probes });
    },
  };
}

const analysis = {
  model: 'm',
  messages: [{ role: 'user' as const, content: 'Analyse.' }],
  jsonSchema: { name: 'paper_analysis', schema: { type: 'object' } },
};
const tools = [
  {
    name: 'list_files',
    description: 'List files',
    parameters: { type: 'object', properties: { dir: { type: 'string' } } },
  },
  { name: 'final_answer', description: 'Finish', parameters: { type: 'object', properties: {} } },
];

describe('detecting the structured mode of an endpoint', () => {
  it('takes json_schema where the server honours it, with one probe', async () => {
    const before = openaiLike.requestsFor('mode_probe').length;
    expect(await detectMode(client(openaiLike), 'm')).toEqual({
      mode: 'json_schema',
      probes: [{ mode: 'json_schema', outcome: 'answered' }],
    });
    expect(openaiLike.requestsFor('mode_probe').length - before).toBe(1);
  });

  it('falls back to json_object with a schema on a llama.cpp server, and records why', async () => {
    const { mode, probes } = await detectMode(client(llama), 'm');
    expect(mode).toBe('json_object');
    expect(probes).toEqual([
      expect.objectContaining({ mode: 'json_schema', outcome: 'refused', status: 500 }),
      { mode: 'json_object', outcome: 'answered' },
    ]);
    expect(probes[0]!.detail).toContain("Input should be 'text' or 'json_object'");
  });

  it('goes on to a named tool and then the plain prompt when replies are unusable', async () => {
    const fake = await startFakeModel();
    try {
      fake.enqueue('mode_probe', { content: 'Water is wet.' });
      fake.enqueue('mode_probe', { status: 422 });
      fake.enqueue('mode_probe', { content: 'I cannot call tools.' });
      fake.enqueue('mode_probe', { content: 'ok' });
      const { mode, probes } = await detectMode(client(fake), 'm');
      expect(mode).toBe('prompt');
      expect(probes.map((p) => [p.mode, p.outcome])).toEqual([
        ['json_schema', 'unusable'],
        ['json_object', 'refused'],
        ['tools', 'unusable'],
        ['prompt', 'unusable'],
      ]);
      expect(fake.requests.map((r) => r.mode)).toEqual(['json_schema', 'json_object', 'tools', 'prompt']);
    } finally {
      await fake.close();
    }
  });

  it('stops with a retryable failure, recording nothing, when the endpoint is down', async () => {
    const registry = memoryRegistry();
    const down = createOpenAiChatModel(client('http://127.0.0.1:9/v1'), { maxTokens: 64, registry });
    const err = await down.complete(analysis).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect([(err as ApplicationFailure).type, (err as ApplicationFailure).nonRetryable]).toEqual([
      'LlmUnavailable',
      false,
    ]);
    expect(registry.rows.size).toBe(0);
  });

  it('treats a 503 while probing as an outage, not as a missing mode', async () => {
    const fake = await startFakeModel();
    try {
      fake.enqueue('mode_probe', { status: 503 });
      const registry = memoryRegistry();
      const model = createOpenAiChatModel(client(fake), { maxTokens: 64, registry });
      await expect(model.complete(analysis)).rejects.toMatchObject({ type: 'LlmUnavailable' });
      expect(registry.rows.size).toBe(0);
      // The next call detects afresh and gets json_schema.
      expect((await model.complete(analysis)).mode).toBe('json_schema');
      expect([...registry.rows.values()][0]!.mode).toBe('json_schema');
    } finally {
      await fake.close();
    }
  });
});

describe('asking in the detected mode', () => {
  it('probes once per endpoint and model for concurrent calls, and shares the answer through the registry', async () => {
    const registry = memoryRegistry();
    const before = llama.requestsFor('mode_probe').length;
    const one = createOpenAiChatModel(client(llama), { maxTokens: 64, registry });
    const replies = await Promise.all([one.complete(analysis), one.complete(analysis), one.complete(analysis)]);
    expect(replies.map((r) => r.mode)).toEqual(['json_object', 'json_object', 'json_object']);
    // A second worker, same registry: no probe at all.
    const other = createOpenAiChatModel(client(llama), { maxTokens: 64, registry });
    expect((await other.complete(analysis)).mode).toBe('json_object');
    expect(llama.requestsFor('mode_probe').length - before).toBe(2); // json_schema refused, json_object answered
    expect([...registry.rows.keys()]).toEqual([`${llama.baseUrl} m`]);
  });

  it('sends json_object with the schema and max_tokens to a llama.cpp server, and reads the content', async () => {
    const model = createOpenAiChatModel(client(llama), { maxTokens: 64, structured: 'json_object' });
    const res = await model.complete(analysis);
    const sent = llama.requestsFor('paper_analysis').at(-1)!.body;
    expect(sent.response_format).toEqual({ type: 'json_object', schema: { title: 'paper_analysis', type: 'object' } });
    expect(sent.max_tokens).toBe(64);
    expect(JSON.parse(res.content)).toHaveProperty('taskDefinition');
    expect(res.mode).toBe('json_object');
  });

  it('makes an agent step a structured answer where "required" tool choice is ignored', async () => {
    const model = createOpenAiChatModel(client(llama), { maxTokens: 64, structured: 'json_object' });
    llama.enqueue('agent', { tool: 'list_files', args: { dir: '.' }, thought: 'Look around first.' });
    const res = await model.act({
      model: 'm',
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, toolCall: { id: 'c1', name: 'list_files', arguments: '{"dir":"x"}' } },
        { role: 'tool', toolCallId: 'c1', content: 'a.py' },
      ],
      tools,
    });
    expect(res.toolCall).toMatchObject({ name: 'list_files', arguments: '{"dir":"."}' });
    expect(res.content).toBe('Look around first.');
    const sent = llama.requestsFor('agent').at(-1)!;
    expect(sent.mode).toBe('json_object');
    expect(sent.body.tools).toBeUndefined();
    // The history is told as text: no tool roles reach a server without tool calls.
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(sent.messages[2]!.content).toBe('Observation:\na.py');
  });

  it('shows what the "required" choice gets from a llama.cpp server: no call, which is why it is not used there', async () => {
    const forced = createOpenAiChatModel(client(llama), { maxTokens: 64, structured: 'json_schema' });
    const res = await forced.act({ model: 'm', messages: [{ role: 'user', content: 'go' }], tools });
    expect(res.toolCall).toBeUndefined();
  });

  it.each(['tools', 'prompt'] as const)('reads an agent step asked in %s mode', async (mode) => {
    const model = createOpenAiChatModel(client(openaiLike), { maxTokens: 64, structured: mode });
    openaiLike.enqueue('agent', { tool: 'final_answer', args: {} });
    const res = await model.act({ model: 'm', messages: [{ role: 'user', content: 'go' }], tools });
    expect(res).toMatchObject({ mode, toolCall: { name: 'final_answer', arguments: '{}' } });
    expect(openaiLike.requestsFor('agent').at(-1)!.mode).toBe(mode);
  });

  it('sends no probe when MLR_LLM_STRUCTURED names the mode', async () => {
    const before = openaiLike.requestsFor('mode_probe').length;
    const model = createOpenAiChatModel(client(openaiLike), { maxTokens: 64, structured: 'prompt' });
    const res = await model.complete(analysis);
    expect(res.mode).toBe('prompt');
    expect(JSON.parse(res.content)).toHaveProperty('gaps');
    expect(openaiLike.requestsFor('mode_probe').length).toBe(before);
  });
});

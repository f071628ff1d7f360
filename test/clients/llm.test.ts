import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { createCircuitBreaker } from '../../src/clients/breaker';
import { createOpenAiChatModel, retryAfterMs, withBreaker, type ChatModel } from '../../src/clients/llm';
import { ErrorType } from '../../src/errors';
import { startFakeModel, type FakeModel } from '../support/fake-model';

let fake: FakeModel;
beforeAll(async () => {
  fake = await startFakeModel();
});
afterAll(async () => {
  await fake.close();
});

const request = {
  model: 'm',
  messages: [{ role: 'user' as const, content: 'hi' }],
  jsonSchema: { name: 'paper_analysis', schema: { type: 'object' } },
};
const model = () =>
  createOpenAiChatModel(new OpenAI({ apiKey: 'k', baseURL: fake.baseUrl, maxRetries: 0 }), { maxTokens: 512 });

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('the OpenAI chat model adapter', () => {
  it('sends a strict json_schema response format and returns content and usage', async () => {
    const res = await model().complete(request);
    expect(res).toMatchObject({ model: 'm', promptTokens: 100, completionTokens: 50 });
    expect(fake.requests.at(-1)!.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'paper_analysis', strict: true, schema: { type: 'object' } },
    });
  });

  it('sends the reserved reply size as max_tokens on every call, structured or with tools', async () => {
    await model().complete(request);
    expect(fake.requests.at(-1)!.body.max_tokens).toBe(512);
    await model().act({
      model: 'm',
      messages: [{ role: 'user', content: 'go' }],
      tools: [{ name: 'final_answer', description: 'd', parameters: { type: 'object', properties: {} } }],
    });
    expect(fake.requests.at(-1)!.schemaName).toBe('agent');
    expect(fake.requests.at(-1)!.body.max_tokens).toBe(512);
  });

  it('maps 429 to a retryable failure that carries retry-after', async () => {
    fake.enqueue('paper_analysis', { status: 429, headers: { 'retry-after': '7' } });
    const f = await failureOf(model().complete(request));
    expect([f.type, f.nonRetryable, f.nextRetryDelay]).toEqual(['LlmUnavailable', false, 7000]);
  });

  it('maps 5xx to a retryable failure and 4xx to a non-retryable one', async () => {
    fake.enqueue('paper_analysis', { status: 503 });
    expect((await failureOf(model().complete(request))).nonRetryable).toBe(false);
    fake.enqueue('paper_analysis', { status: 400 });
    const bad = await failureOf(model().complete(request));
    expect([bad.type, bad.nonRetryable]).toEqual(['LlmRejected', true]);
  });

  it('maps an unreachable endpoint to a retryable failure', async () => {
    const dead = createOpenAiChatModel(new OpenAI({ apiKey: 'k', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }), {
      maxTokens: 512,
    });
    const f = await failureOf(dead.complete(request));
    expect([f.type, f.nonRetryable]).toEqual(['LlmUnavailable', false]);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds, milliseconds and HTTP dates, and caps the wait', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150' }))).toBe(150);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000 + 5000).toUTCString() }), 10_000)).toBeGreaterThan(
      3000,
    );
    expect(retryAfterMs(new Headers({ 'retry-after': '99999' }))).toBe(600_000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});

describe('the model behind its circuit breaker', () => {
  function flaky() {
    const calls = { n: 0, fail: true };
    const model: ChatModel = {
      async complete() {
        calls.n += 1;
        if (calls.fail) throw ApplicationFailure.create({ type: ErrorType.LlmUnavailable, message: '503 down' });
        return { content: '{}', model: 'm', promptTokens: 1, completionTokens: 1 };
      },
      async act() {
        throw ApplicationFailure.create({ type: ErrorType.LlmRejected, message: '400 bad request' });
      },
    };
    return { model, calls };
  }
  const request = { model: 'm', messages: [], jsonSchema: { name: 'x', schema: {} } };

  it('refuses at once, retryable after the cool-down, once the endpoint failed repeatedly; a trial closes it', async () => {
    let t = 1_000_000;
    const { model, calls } = flaky();
    const breaker = createCircuitBreaker({ name: 'the model endpoint', failures: 3, cooldownMs: 30_000, now: () => t });
    const guarded = withBreaker(model, breaker, () => t);
    for (let i = 0; i < 3; i++) await expect(guarded.complete(request)).rejects.toThrow('503 down');
    const refused = await guarded.complete(request).catch((e: ApplicationFailure) => e);
    expect(calls.n).toBe(3); // the fourth call never reached the endpoint
    expect(refused).toMatchObject({ type: ErrorType.LlmUnavailable });
    expect((refused as ApplicationFailure).message).toMatch(/model endpoint unavailable: .*3 times in a row/);
    expect((refused as ApplicationFailure).nextRetryDelay).toBe(30_000);
    t += 30_001;
    calls.fail = false;
    await expect(guarded.complete(request)).resolves.toMatchObject({ content: '{}' });
    expect(breaker.isOpen()).toBe(false);
  });

  it('does not count a rejected request (4xx) as an outage', async () => {
    const { model } = flaky();
    const breaker = createCircuitBreaker({ name: 'm', failures: 1, cooldownMs: 30_000 });
    const guarded = withBreaker(model, breaker);
    await expect(guarded.act({ model: 'm', messages: [], tools: [] })).rejects.toThrow('400 bad request');
    await expect(guarded.act({ model: 'm', messages: [], tools: [] })).rejects.toThrow('400 bad request');
    expect(breaker.isOpen()).toBe(false);
  });
});

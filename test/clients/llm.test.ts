import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { createOpenAiChatModel, retryAfterMs } from '../../src/clients/llm';
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
const model = () => createOpenAiChatModel(new OpenAI({ apiKey: 'k', baseURL: fake.baseUrl, maxRetries: 0 }));

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
    const dead = createOpenAiChatModel(new OpenAI({ apiKey: 'k', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }));
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

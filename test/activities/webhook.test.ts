// One webhook delivery attempt: signed, identified, and anything but a 2xx is a retryable failure that
// Temporal retries with backoff.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { createCampaignActivities } from '../../src/activities/campaign';
import type { ActivityDeps } from '../../src/activities/deps';
import { testConfig } from '../support/harness';

const SECRET = 'a-secret-of-sixteen+';
let server: http.Server;
let answer = 204;
const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterAll(() => new Promise((r) => server.close(r)));

function activities(url?: string) {
  const config = testConfig({
    ...(url ? { MLR_WEBHOOK_URL: url, MLR_WEBHOOK_SECRET: SECRET } : {}),
  });
  // No run or campaign named: the payload needs no database.
  return createCampaignActivities({ config, db: {} as never } as unknown as ActivityDeps);
}

describe('a webhook delivery', () => {
  it('posts the event signed with HMAC-SHA256 over the timestamp and body, with its delivery id', async () => {
    answer = 204;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    await activities(url).sendWebhook({ id: 'c1-done', event: 'campaign.done' });
    const { headers, body } = got.at(-1)!;
    expect(headers['x-mlr-event']).toBe('campaign.done');
    expect(headers['x-mlr-delivery']).toBe('c1-done');
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers['x-mlr-signature']))!;
    expect(v1).toBe(createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex'));
    expect(JSON.parse(body)).toMatchObject({ id: 'c1-done', event: 'campaign.done', data: {} });
  });

  it('fails retryably when the receiver answers anything but a 2xx', async () => {
    answer = 500;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const err = await activities(url)
      .sendWebhook({ id: 'r1-finished', event: 'run.finished' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'WebhookRejected', nonRetryable: false });
    expect((err as Error).message).toBe('webhook receiver answered 500');
  });

  it('sends nothing when no receiver is configured', async () => {
    const before = got.length;
    await activities().sendWebhook({ id: 'x', event: 'run.finished' });
    expect(got.length).toBe(before);
  });
});
